/**
 * One-Token Rollout (OTR): each trained position is a one-step episode. K tokens are sampled from
 * the model's own distribution there (held constant: no gradient through the sampling), each
 * sample is rewarded by whether it is the gold token, and the loss is the policy gradient
 *   ℓ_t = −(1/K) Σ_k r_k · log π(a_k | s_t),   r_k = 1 if a_k = y_t, else miss_reward,
 * averaged over trained tokens like SFT. In expectation the match term is p(y)·log p(y): the gold
 * token is learnt in proportion to how reachable it already is, and sampled wrong tokens are pushed
 * down.
 *
 * Ming et al., "One-Token Rollout: Guiding Supervised Fine-Tuning of LLMs with Policy Gradient",
 * 2025, arXiv:2509.26313. The abstract gives the scheme (sample candidates per position, reward
 * them with the gold token, policy gradient); the paper's exact reward for a miss, its baseline and
 * its K could not be read offline, so miss_reward = −0.1, no baseline and K = 4 are our choices.
 *
 * Sampling is in the graph (Gumbel-max over the log-probabilities, with noise hashed from the
 * step's seed, dropout.ts), so a resumed run draws the same tokens. A hook that declares the
 * per-token int64 inputs `sampledTokenInput(k)` trains on those tokens instead (the PyTorch golden
 * test feeds its own).
 */
import {
  add,
  cast,
  equal,
  gatherElements,
  log,
  mul,
  neg,
  reduceMax,
  reduceSum,
  squeeze,
  stopGradient,
  unsqueeze,
  type Tensor
} from '../engine/graph/index'
import { hashUniform } from '../engine/train/dropout'
import type { LossContext } from '../engine/train/loss-hook'
import { tokenNll, weightedTokenMean } from './loss-terms'
import type { Recipe } from './types'

/** Salt of sample k's noise: "OTR" in the high bytes keeps it apart from the dropout salts. */
const NOISE_SALT = 0x4f545200

/** Name of the extra input that gives sample k of every position [B, S], when a hook declares it. */
export function sampledTokenInput(k: number): string {
  return `sampled_${k}`
}

interface OneSample {
  /** log π(a_k) at each position [B, S], differentiable. */
  logProb: Tensor
  /** 1 where a_k is the gold token, else 0 [B, S], float. */
  hit: Tensor
}

/** Sample k read from the declared input. */
function givenSample(ctx: LossContext, tokens: Tensor): OneSample {
  const logProbs = fullLogProbs(ctx)
  return {
    logProb: squeeze(gatherElements(logProbs, unsqueeze(tokens, [2]), 2), [2]),
    hit: cast(equal(tokens, ctx.targets), logProbs.dtype)
  }
}

/** Sample k drawn in the graph: argmax of log π + Gumbel noise, as a one-hot over the vocabulary. */
function drawnSample(ctx: LossContext, k: number): OneSample {
  const logProbs = fullLogProbs(ctx)
  if (!ctx.randomSeed) throw new Error('otr: in-graph sampling needs needs.randomSeed')
  const uniform = cast(hashUniform(logProbs, ctx.randomSeed, NOISE_SALT + k), logProbs.dtype) // (B, S, V)
  const scores = add(stopGradient(logProbs), neg(log(neg(log(uniform))))) // (B, S, V)
  const picked = cast(equal(scores, reduceMax(scores, [-1], { keepDims: true })), logProbs.dtype) // (B, S, V)
  return {
    logProb: reduceSum(mul(picked, logProbs), [-1], { keepDims: false }),
    hit: squeeze(gatherElements(picked, unsqueeze(ctx.targets, [2]), 2), [2])
  }
}

function fullLogProbs(ctx: LossContext): Tensor {
  if (!ctx.logProbs) throw new Error('otr: needs needs.fullLogProbs')
  return ctx.logProbs
}

export const otr: Recipe = {
  name: 'otr',
  title: 'One-Token Rollout (OTR)',
  summary:
    'SFT recast as token-level policy gradient: at every trained position the model samples a few ' +
    'tokens from its own distribution, a sample that matches the data token is rewarded, a wrong one ' +
    'is penalised, and the loss pushes the model toward rewarded samples. Learning from its own ' +
    'samples (on-policy) was reported to generalise better than SFT on math, code and reasoning ' +
    "benchmarks. The paper's exact miss reward, baseline and sample count could not be checked offline: " +
    'the defaults here (reward 1 for a match, −0.1 for a miss, 4 samples, no baseline) are our choice. Costs K extra ' +
    'passes over the vocabulary per token, no extra model passes.',
  paper: {
    title: 'One-Token Rollout: Guiding Supervised Fine-Tuning of LLMs with Policy Gradient',
    authors: 'Rui Ming, Haoyuan Wu, et al.',
    year: 2025,
    arxiv: '2509.26313',
    url: 'https://arxiv.org/abs/2509.26313'
  },
  group: 'sft',
  params: [
    {
      name: 'samples',
      type: 'integer',
      default: 4,
      min: 1,
      max: 16,
      description: 'Tokens sampled from the model at each trained position (K).'
    },
    {
      name: 'miss_reward',
      type: 'number',
      default: -0.1,
      min: -1,
      max: 0,
      description: 'Reward of a sampled token that is not the data token (a match earns 1).'
    }
  ],
  needs: { fullLogProbs: true, randomSeed: true },
  loss: (ctx) => {
    const samples = ctx.params.samples as number
    const missReward = ctx.params.miss_reward as number
    let objective: Tensor | null = null // Σ_k r_k · log π(a_k), (B, S)
    let hits: Tensor | null = null // Σ_k hit_k, (B, S)
    for (let k = 0; k < samples; k++) {
      const given = ctx.inputs[sampledTokenInput(k)]
      const { logProb, hit } = given ? givenSample(ctx, given) : drawnSample(ctx, k)
      const reward = add(mul(hit, 1 - missReward), missReward) // 1 on a hit, missReward on a miss
      const term = mul(stopGradient(reward), logProb)
      objective = objective ? add(objective, term) : term
      hits = hits ? add(hits, hit) : hit
    }
    return {
      loss: weightedTokenMean(ctx, neg(mul(objective!, 1 / samples))),
      metrics: {
        hit_rate: weightedTokenMean(ctx, mul(hits!, 1 / samples)),
        nll: weightedTokenMean(ctx, tokenNll(ctx))
      }
    }
  }
}

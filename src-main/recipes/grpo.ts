/**
 * Group Relative Policy Optimization (GRPO) on given rollouts: each prompt comes with a group of G
 * completions and their rewards, and every completion's tokens are pushed up or down by how much
 * better than its group it scored. Shao et al., "DeepSeekMath: Pushing the Limits of Mathematical
 * Reasoning in Open Language Models", 2024, arXiv:2402.03300.
 *
 * The loss is TRL's GRPOTrainer (huggingface/trl, trl/trainer/grpo_trainer.py,
 * `_generate_and_score_completions` and `_compute_loss`), term by term:
 *
 *   A_i   = r_i − mean(r)                 over the rows of the group; with scale_rewards divided by
 *           (std(r) + 1e-4), std the unbiased (torch.std) one. A group whose rewards are all equal
 *           has A = 0: it teaches nothing (dynamic_sampling leaves it out, as DAPO does).
 *   ρ_t   = exp(log π(y_t) − log π_old(y_t)), π_old the weights before the first of the μ =
 *           num_iterations updates on this rollout batch: on that first update π_old is π itself
 *           behind stopGradient (ρ = 1 with the gradient of log π, exactly what μ = 1 computes), on
 *           updates 2…μ the first update's log-probs, fed as the input `old_logprobs`.
 *   ℓ_t   = −min(ρ_t·A, clip(ρ_t, 1 − ε, 1 + ε_high)·A) + β·KL_t,
 *   KL_t  = exp(b_t − log π(y_t)) − (b_t − log π(y_t)) − 1, b the frozen base model's log-prob
 *           (Schulman's k3 estimator, as TRL; only when β > 0).
 *   loss  grpo:    mean over sequences of each sequence's mean over its completion tokens
 *         dr_grpo: Σ over tokens / (sequences × max_completion_length)  (Liu et al. 2025,
 *                  "Understanding R1-Zero-Like Training", arXiv:2503.20783)
 *         dapo:    Σ over tokens / the step's completion tokens  (Yu et al. 2025, arXiv:2503.14476;
 *                  TRL's normaliser is the tokens of the whole batch, all accumulated micro-batches)
 *
 * Sequences and tokens are counted over the whole optimizer step (loss-hook.ts `sampleTotal`,
 * `tokenTotal`), so gradient accumulation gives the loss of the step's batch, as TRL's division by
 * the accumulation steps does. ε_high > ε is DAPO's clip-higher.
 *
 * Inner iterations (μ = num_iterations, TRL's name and counting): each rollout batch, the
 * micro-batches of one optimizer step, read or generated, trains for μ consecutive optimizer steps
 * (engine/train/update-cycle.ts), each a step of the run with its own learning rate, so a run has μ
 * times the steps of its batches. Online, the model generates only before a batch's first update.
 * The first update's forward pass runs on π_old, so its per-token log-probs, which the step returns
 * anyway, are π_old on updates 2…μ (no scoring pass); there ρ ≠ 1, and the clip and the clip ratio
 * take effect. `old_logprobs_given` (0 on a first update, 1 after) chooses in the graph, so a first
 * update computes the same values as a run with μ = 1. Checkpoints and a stop fall between batches.
 *
 * The data. Rollout rows (data.ts) `{"prompt_ids", "completion_ids", "reward", "group"}`: the
 * consecutive rows of one group share a prompt and there are exactly group_size of them
 * (`groupRows` checks this and names the line). The rewards reach the graph as the per-row input
 * `reward`, read from the rows' examples (`batchInputs`); the advantages are computed in the graph,
 * where batches.ts keeps every group whole in one micro-batch.
 *
 * Or the run generates its rollouts: with a reward spec in `rewards`, the data are prompts and the
 * model answers each group_size times before every step (grpo-online.ts); the loss is the same.
 *
 * The base model. `needs` cannot depend on parameters (it is read before they are resolved, by the
 * compiler, pre-flight and the Recipes view alike), so the frozen base pass is built even at β = 0,
 * where the loss does not read it: one extra forward pass per step.
 *
 * Metrics per step, named after TRL's where it has them: rewards/mean, rewards/std (the mean of the
 * groups' stds), advantages/abs_mean, kl/mean (β > 0), clip/ratio (share of completion tokens whose
 * ratio is clipped: 0 on a batch's first update), completions/mean_length, groups/zero_std_share (TRL's
 * frac_reward_zero_std), entropy/mean (the policy's entropy over completion tokens, from the
 * log-softmax the loss builds anyway, behind stopGradient); per row, its advantage. With μ > 1 the
 * trainer adds `iteration`, the update (1…μ) a step is on its batch.
 */
import {
  add,
  and,
  cast,
  div,
  exp,
  greater,
  less,
  max,
  min,
  mul,
  neg,
  not,
  reduceMean,
  reduceSum,
  reshape,
  slice,
  sqrt,
  stopGradient,
  sub,
  unsqueeze,
  where,
  type Tensor
} from '../engine/graph/index'
import type { LossContext } from '../engine/train/loss-hook'
import type { BatchUpdate } from '../engine/train/run-hooks'
import {
  generatesRollouts,
  grpoInitialState,
  grpoRollouts,
  grpoUpdateState,
  parseRewardSpec,
  promptCopies
} from './grpo-online'
import { groupRollouts } from './grpo-rollouts'
import { rowTokenMean, weightedSampleMean, weightedTokenMean, weightedTokenSum } from './loss-terms'
import type { Recipe } from './types'

export const GRPO_LOSS_TYPES = ['grpo', 'dr_grpo', 'dapo'] as const

export type GrpoParams = {
  group_size: number
  loss_type: (typeof GRPO_LOSS_TYPES)[number]
  beta: number
  epsilon: number
  epsilon_high: number
  scale_rewards: boolean
  max_completion_length: number
  dynamic_sampling: boolean
  num_iterations: number
  rewards: string
  temperature: number
  top_p: number
  target_entropy: number
}

/** TRL's guard against dividing by a zero group std. */
const STD_EPSILON = 1e-4

export const grpo: Recipe<GrpoParams> = {
  name: 'grpo',
  title: 'Group Relative Policy Optimization (GRPO)',
  summary:
    'Reinforcement learning from rewards: every prompt has a group of completions, each with a reward, ' +
    'and each completion is made more likely in proportion to how much better than the rest of its group ' +
    'it scored (worse ones less likely), with no value model. With a reward spec (the Rewards panel, ' +
    'train --rewards) the model answers every prompt group_size times before each step and the spec scores ' +
    'the answers; without one it trains on given rollouts (train --rollouts FILE: prompt_ids, ' +
    'completion_ids, reward, group per row). beta > 0 keeps the model near the ' +
    'starting model (a KL penalty); loss_type chooses how token losses are averaged (grpo per sequence, ' +
    'dr_grpo by a fixed length, dapo per token); dynamic_sampling leaves out groups whose rewards are ' +
    'all equal; num_iterations trains each rollout batch for several steps, clipping (epsilon) how far the ' +
    'model moves from where it was before the first of them. Costs one extra forward pass of the starting model per step.',
  paper: {
    title: 'DeepSeekMath: Pushing the Limits of Mathematical Reasoning in Open Language Models',
    authors:
      'Zhihong Shao, Peiyi Wang, Qihao Zhu, Runxin Xu, Junxiao Song, Mingchuan Zhang, Y. K. Li, Y. Wu, Daya Guo',
    year: 2024,
    arxiv: '2402.03300',
    url: 'https://arxiv.org/abs/2402.03300'
  },
  group: 'rl',
  params: [
    {
      name: 'group_size',
      description: 'G, completions per prompt: the rows of one group (TRL num_generations, default 8 there)',
      type: 'integer',
      default: 4,
      min: 2,
      max: 256
    },
    {
      name: 'loss_type',
      description:
        'grpo: mean per sequence; dr_grpo: sum / (sequences × max_completion_length); dapo: mean per token',
      type: 'choice',
      choices: GRPO_LOSS_TYPES,
      default: 'grpo'
    },
    {
      name: 'beta',
      description: 'β ≥ 0, weight of the KL penalty to the starting model (0 = off, TRL default)',
      type: 'number',
      default: 0,
      min: 0,
      max: 10
    },
    {
      name: 'epsilon',
      description: 'ε, the ratio is clipped below at 1 − ε (and above at 1 + ε unless epsilon_high is set)',
      type: 'number',
      default: 0.2,
      min: 0,
      max: 1
    },
    {
      name: 'epsilon_high',
      description: 'ε_high, the upper clip 1 + ε_high (DAPO clip-higher: 0.28); 0 = the same as epsilon',
      type: 'number',
      default: 0,
      min: 0,
      max: 10
    },
    {
      name: 'scale_rewards',
      description: 'divide the advantages by the group’s reward std (Dr. GRPO turns this off)',
      type: 'boolean',
      default: true
    },
    {
      name: 'max_completion_length',
      description: 'the longest completion allowed, and dr_grpo’s constant divisor (TRL default 256)',
      type: 'integer',
      default: 256,
      min: 1,
      max: 1_000_000
    },
    {
      name: 'dynamic_sampling',
      description: 'leave out groups whose rewards are all equal (no advantage to learn from), as DAPO does',
      type: 'boolean',
      default: false
    },
    {
      name: 'num_iterations',
      description:
        'μ, optimizer steps per rollout batch (TRL num_iterations): the batch is generated or read once and ' +
        'trained μ times, its ratio to the weights before the first of them clipped by epsilon; the run has μ steps per batch',
      type: 'integer',
      default: 1,
      min: 1,
      max: 16
    },
    {
      name: 'rewards',
      description:
        'a reward spec in JSON ({"terms": [{"reward", "weight", "params"}]}, see finetune-studio rewards list): ' +
        'the model then answers each prompt group_size times before every step and these rewards score it; ' +
        'empty: the data are given rollouts',
      type: 'text',
      default: '',
      maxLength: 20_000,
      check: (source) => void (source.trim() === '' || parseRewardSpec(source))
    },
    {
      name: 'temperature',
      description: 'sampling temperature of the generated completions (TRL default 1)',
      type: 'number',
      default: 1,
      min: 0.01,
      max: 5
    },
    {
      name: 'target_entropy',
      description:
        'entropy-targeted temperature (AceReason-Nemotron 1.1 keeps the temperature-adjusted entropy near ' +
        '0.3): after each step the sampling temperature moves so that the rollouts’ entropy approaches this; ' +
        '0 = a fixed temperature',
      type: 'number',
      default: 0,
      min: 0,
      max: 10
    },
    {
      name: 'top_p',
      description: 'nucleus sampling of the generated completions (1 = off)',
      type: 'number',
      default: 1,
      min: 0.01,
      max: 1
    }
  ],
  needs: { fullLogProbs: true, baseModelLogits: true },
  inputs: [
    { name: 'reward', description: 'the reward of each row’s completion', per: 'sample', dtype: 'float32' },
    {
      name: 'old_logprobs',
      description: 'log π_old of each completion token: the first update’s log-probs on updates 2…μ, else 0',
      per: 'token',
      dtype: 'float32'
    },
    {
      name: 'old_logprobs_given',
      description: '1 on updates 2…μ of a rollout batch (ρ against old_logprobs), 0 on its first (π_old = π)',
      per: 'step',
      dtype: 'float32'
    }
  ],
  updatesPerBatch: (params) => params.num_iterations,
  groupSize: 'group_size',
  groupRows: (data, params) =>
    generatesRollouts(params) ? promptCopies(data, params) : groupRollouts(data, params),
  rollouts: grpoRollouts,
  initialState: grpoInitialState,
  updateState: grpoUpdateState,
  batchInputs: (_state, { rowExamples, columns, update }) => ({
    reward: Float32Array.from(rowExamples, ([example]) => example.rollout!.reward),
    ...oldPolicyInputs(rowExamples.length * columns, update)
  }),
  loss: (ctx) => {
    const { params } = ctx
    const rewards = ctx.inputs.reward // (B)
    const { advantages, std } = groupAdvantages(rewards, params)
    const logProbs = ctx.tokenLogProbs // (B, S)
    const ratio = exp(sub(logProbs, oldLogProbs(ctx))) // (B, S)
    const low = 1 - params.epsilon
    const high = 1 + (params.epsilon_high > 0 ? params.epsilon_high : params.epsilon)
    const clipped = max(min(ratio, high), low) // (B, S)
    const advantage = unsqueeze(advantages, [1]) // (B, 1)
    const policyLoss = neg(min(mul(ratio, advantage), mul(clipped, advantage))) // (B, S)
    const kl = params.beta > 0 ? tokenKl(ctx) : null // (B, S)
    const perToken = kl ? add(policyLoss, mul(kl, params.beta)) : policyLoss
    const float = (x: Tensor) => cast(x, logProbs.dtype)
    const isClipped = add(
      float(and(less(ratio, low), less(advantage, 0))),
      float(and(greater(ratio, high), greater(advantage, 0)))
    ) // (B, S)
    return {
      loss: aggregate(ctx, perToken),
      metrics: {
        'rewards/mean': weightedSampleMean(ctx, rewards),
        'rewards/std': weightedSampleMean(ctx, std),
        'advantages/abs_mean': weightedSampleMean(ctx, max(advantages, neg(advantages))),
        ...(kl ? { 'kl/mean': weightedTokenMean(ctx, stopGradient(kl)) } : {}),
        'clip/ratio': weightedTokenMean(ctx, stopGradient(isClipped)),
        'completions/mean_length': weightedSampleMean(
          ctx,
          reduceSum(ctx.labelMask, [1], { keepDims: false })
        ),
        'groups/zero_std_share': weightedSampleMean(ctx, float(not(greater(std, 0)))),
        'entropy/mean': weightedTokenMean(ctx, tokenEntropy(ctx))
      },
      perSample: { advantage: advantages }
    }
  }
}

/**
 * Each row's advantage and its group's reward std [B], from the rewards [B] of consecutive groups.
 * The mean is taken of the rewards less the group's first, so a group of equal rewards has
 * deviations of exactly 0 (a mean of equal floats need not equal them).
 */
function groupAdvantages(rewards: Tensor, params: GrpoParams): { advantages: Tensor; std: Tensor } {
  const size = params.group_size
  const grouped = reshape(rewards, [-1, size]) // (B/G, G)
  const shifted = sub(grouped, slice(grouped, [0], [1], [1])) // (B/G, G)
  const deviations = sub(shifted, reduceMean(shifted, [1], { keepDims: true })) // (B/G, G)
  const variance = div(reduceSum(mul(deviations, deviations), [1], { keepDims: true }), size - 1) // (B/G, 1)
  const groupStd = sqrt(variance) // (B/G, 1)
  const scaled = params.scale_rewards ? div(deviations, add(groupStd, STD_EPSILON)) : deviations
  const perRow = (x: Tensor) => stopGradient(reshape(x, [-1])) // (B)
  // groupStd + 0·deviations: the group's value on each of its rows, (B/G, G)
  return { advantages: perRow(scaled), std: perRow(add(groupStd, mul(deviations, 0))) }
}

/**
 * log π_old [B, S]: the fed first-update log-probs on updates 2…μ; else log π behind stopGradient,
 * so that ρ = 1 with the gradient of log π, bit for bit what a run with μ = 1 computes.
 */
function oldLogProbs(ctx: LossContext<GrpoParams>): Tensor {
  const { old_logprobs: given, old_logprobs_given: isGiven } = ctx.inputs
  const current = stopGradient(ctx.tokenLogProbs) // (B, S)
  return where(greater(isGiven, 0), cast(given, current.dtype), current) // (B, S)
}

/** The old-policy inputs of a micro-batch of `size` = rows × columns token positions (see oldLogProbs). */
function oldPolicyInputs(size: number, update: BatchUpdate): Record<string, Float32Array> {
  const given = update.firstTokenLogProbs
  return {
    old_logprobs: given ?? new Float32Array(size),
    old_logprobs_given: Float32Array.of(given ? 1 : 0)
  }
}

/** TRL's k3 estimate of KL(π ‖ base) per predicting position [B, S]; 0 where nothing is trained. */
function tokenKl(ctx: LossContext): Tensor {
  const logRatio = mul(sub(ctx.baseTokenLogProbs!, ctx.tokenLogProbs), ctx.labelMask) // (B, S)
  return sub(sub(exp(logRatio), logRatio), 1)
}

/** −Σ_v p·log p of the policy at each predicting position [B, S], a constant for autodiff. */
function tokenEntropy(ctx: LossContext): Tensor {
  const logProbs = stopGradient(ctx.logProbs!) // (B, S, V)
  return neg(reduceSum(mul(exp(logProbs), logProbs), [-1], { keepDims: false }))
}

/** The step's loss from the per-token losses, as loss_type says (see the module comment). */
function aggregate(ctx: LossContext<GrpoParams>, perToken: Tensor): Tensor {
  switch (ctx.params.loss_type) {
    case 'grpo':
      return weightedSampleMean(ctx, rowTokenMean(ctx, perToken))
    case 'dr_grpo': {
      const sequences = where(greater(ctx.sampleTotal, 0), ctx.sampleTotal, 1)
      return div(weightedTokenSum(ctx, perToken), mul(sequences, ctx.params.max_completion_length))
    }
    case 'dapo':
      return weightedTokenMean(ctx, perToken)
  }
}

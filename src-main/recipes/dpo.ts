/**
 * Direct Preference Optimization (DPO): train on pairs of a chosen and a rejected response to the
 * same prompt, pushing the policy's log-likelihood ratio to the frozen reference model up on the
 * chosen response and down on the rejected one. Rafailov et al., "Direct Preference Optimization:
 * Your Language Model is Secretly a Reward Model", 2023, arXiv:2305.18290.
 *
 * Each sample trains as a group of 2 rows, chosen then rejected. With π and r the policy's and the
 * reference's SEQUENCE log-probabilities (sums over the labelled tokens of a row),
 *
 *   Δ = (π_c − r_c) − (π_r − r_r)
 *   sigmoid  −log σ(βΔ)·(1 − ε) − log σ(−βΔ)·ε        (the paper's loss; ε = label_smoothing, the
 *                                                       conservative DPO of TRL's DPOTrainer)
 *   ipo      (Δ − 1/(2β))²                            (Azar et al. 2023, arXiv:2310.12036, eq. 17)
 *   hinge    max(0, 1 − βΔ)                           (SLiC, Zhao et al. 2023, arXiv:2305.10425)
 *
 * as TRL's DPOTrainer writes the three losses; its IPO divides the log-probabilities by the
 * completion length first, here every loss type uses the sums, as the IPO paper does. The loss is
 * the mean over the step's pairs (weighted by the rows' sample weights). The reference is the frozen
 * base model computed in the same step: for LoRA the same graph with the adapter off, for full
 * fine-tuning the initial weights. Metrics, named as TRL names them: rewards β·(π − r) of the chosen
 * and the rejected responses, their margin, and the share of pairs whose chosen reward is higher.
 */
import {
  cast,
  div,
  greater,
  mul,
  neg,
  pow,
  reduceSum,
  relu,
  reshape,
  slice,
  squeeze,
  stopGradient,
  sub,
  where,
  type Tensor
} from '../engine/graph/index'
import type { LossContext } from '../engine/train/loss-hook'
import { logSigmoid } from './loss-terms'
import type { Recipe } from './types'

export const DPO_LOSS_TYPES = ['sigmoid', 'ipo', 'hinge'] as const

export type DpoParams = {
  beta: number
  loss_type: (typeof DPO_LOSS_TYPES)[number]
  label_smoothing: number
}

export const dpo: Recipe<DpoParams> = {
  name: 'dpo',
  title: 'Direct Preference Optimization (DPO)',
  summary:
    'Learns from preference pairs: for each prompt, a chosen and a rejected response. The model is ' +
    'trained to raise the likelihood of the chosen response relative to the starting model more than ' +
    'that of the rejected one, with no reward model and no sampling. beta sets how far the model may ' +
    'move from the starting model (smaller = further). Needs a dataset with rejected responses; costs ' +
    'one extra forward pass of the starting model per step (for LoRA, the same model with the adapter ' +
    'off). ipo and hinge are the IPO and SLiC variants of the loss.',
  paper: {
    title: 'Direct Preference Optimization: Your Language Model is Secretly a Reward Model',
    authors:
      'Rafael Rafailov, Archit Sharma, Eric Mitchell, Stefano Ermon, Christopher D. Manning, Chelsea Finn',
    year: 2023,
    arxiv: '2305.18290',
    url: 'https://arxiv.org/abs/2305.18290'
  },
  group: 'preference',
  requires: ['preference-data'],
  params: [
    {
      name: 'beta',
      description: 'β > 0, the strength of the pull towards the starting model (TRL default 0.1)',
      type: 'number',
      default: 0.1,
      min: 1e-6,
      max: 100
    },
    {
      name: 'loss_type',
      description: 'sigmoid: the DPO paper; ipo: squared distance to 1/(2β); hinge: SLiC hinge',
      type: 'choice',
      choices: DPO_LOSS_TYPES,
      default: 'sigmoid'
    },
    {
      name: 'label_smoothing',
      description: 'ε in [0, 0.5): how likely a preference label is flipped (sigmoid loss only)',
      type: 'number',
      default: 0,
      min: 0,
      max: 0.49
    }
  ],
  needs: { baseModelLogits: true },
  groupSize: 2,
  rows: (sample) => {
    const { rejected, ...chosen } = sample
    if (!rejected) {
      throw new Error(
        `dpo: the sample from line ${sample.line} has no rejected response; DPO trains on preference ` +
          'pairs (give "rejected" beside "messages" or "chosen")'
      )
    }
    return [chosen, { ...rejected, line: sample.line }]
  },
  loss: (ctx) => {
    const { beta } = ctx.params
    const ratios = sub(
      sequenceLogProbs(ctx, ctx.tokenLogProbs),
      sequenceLogProbs(ctx, ctx.baseTokenLogProbs!)
    ) // (P, 2)
    const chosen = pairColumn(ratios, 0) // (P)
    const rejected = pairColumn(ratios, 1) // (P)
    const pairMean = pairMeanOf(ctx)
    const chosenRewards = stopGradient(mul(chosen, beta)) // (P)
    const rejectedRewards = stopGradient(mul(rejected, beta)) // (P)
    return {
      loss: pairMean(pairLoss(sub(chosen, rejected), ctx.params)),
      metrics: {
        'rewards/chosen': pairMean(chosenRewards),
        'rewards/rejected': pairMean(rejectedRewards),
        'rewards/margins': pairMean(sub(chosenRewards, rejectedRewards)),
        'rewards/accuracies': pairMean(cast(greater(chosenRewards, rejectedRewards), ctx.labelMask.dtype))
      }
    }
  }
}

/** The loss of each pair from its Δ (see the module comment) [P]. */
function pairLoss(delta: Tensor, { beta, loss_type, label_smoothing }: DpoParams): Tensor {
  switch (loss_type) {
    case 'sigmoid': {
      const scaled = mul(delta, beta)
      return sub(
        mul(neg(logSigmoid(scaled)), 1 - label_smoothing),
        mul(logSigmoid(neg(scaled)), label_smoothing)
      )
    }
    case 'ipo':
      return pow(sub(delta, 1 / (2 * beta)), 2)
    case 'hinge':
      return relu(sub(1, mul(delta, beta)))
  }
}

/** Σ log p over each row's labelled tokens, as [pairs, 2]: column 0 chosen, 1 rejected. */
function sequenceLogProbs(ctx: LossContext, tokenLogProbs: Tensor): Tensor {
  return reshape(reduceSum(mul(tokenLogProbs, ctx.labelMask), [1], { keepDims: false }), [-1, 2]) // (P, 2)
}

function pairColumn(pairs: Tensor, column: 0 | 1): Tensor {
  return squeeze(slice(pairs, [column], [column + 1], [1]), [1]) // (P)
}

/**
 * The weighted mean over the optimizer step's pairs of a per-pair value: a pair weighs the mean of
 * its rows' sample weights, and the step's pairs weigh sampleTotal / 2 together, so micro-batches
 * summed give the step's mean (loss-hook.ts). A step without weight gives 0, not NaN.
 */
function pairMeanOf(ctx: LossContext): (perPair: Tensor) => Tensor {
  const pairWeights = mul(reduceSum(reshape(ctx.sampleWeights, [-1, 2]), [1], { keepDims: false }), 0.5) // (P)
  const pairTotal = mul(ctx.sampleTotal, 0.5)
  const safeTotal = where(greater(pairTotal, 0), pairTotal, 1)
  return (perPair) => div(reduceSum(mul(pairWeights, perPair), undefined, { keepDims: false }), safeTotal)
}

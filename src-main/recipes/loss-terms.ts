/** Loss terms shared by recipes, over the hook's tensors (engine/train/loss-hook.ts). */
import {
  div,
  exp,
  greater,
  mul,
  neg,
  reduceSum,
  stopGradient,
  sub,
  unsqueeze,
  where,
  type Tensor
} from '../engine/graph/index'
import type { LossContext } from '../engine/train/loss-hook'

/**
 * Σ sampleWeight·tokenWeight·value / tokenTotal over the batch: the weighted mean of a per-token
 * value over the trained tokens of the optimizer step. With unit weights and no accumulation it
 * is the plain mean over labelled tokens. Data weights act relative to each other (scaling every
 * weight by c changes nothing), so a weighted batch keeps the gradient scale of an unweighted one.
 * A step with no trained token gives 0, not NaN.
 */
export function weightedTokenMean(ctx: LossContext, perToken: Tensor): Tensor {
  const weights = mul(ctx.tokenWeights, unsqueeze(ctx.sampleWeights, [1])) // (B, S)
  const total = reduceSum(mul(weights, perToken), undefined, { keepDims: false })
  const safeTotal = where(greater(ctx.tokenTotal, 0), ctx.tokenTotal, 1)
  return div(total, safeTotal)
}

/** −log p(target) per predicting position [B, S]. */
export function tokenNll(ctx: LossContext): Tensor {
  return neg(ctx.tokenLogProbs)
}

/** p(target), treated as a constant by autodiff [B, S] (DFT's weight). */
export function detachedTokenProb(ctx: LossContext): Tensor {
  return stopGradient(exp(ctx.tokenLogProbs))
}

/**
 * KL(p_base ‖ p) = Σ_v p_base(v)·(log p_base(v) − log p(v)) per predicting position [B, S]:
 * the base model's distribution against the trained model's, over the whole vocabulary.
 */
export function klFromBase(ctx: LossContext, recipeName: string): Tensor {
  const { logProbs, baseLogProbs } = ctx
  if (!logProbs || !baseLogProbs) {
    throw new Error(`${recipeName}: KL to the base model needs needs.fullLogProbs and needs.baseModelLogits`)
  }
  const perVocab = mul(exp(baseLogProbs), sub(baseLogProbs, logProbs)) // (B, S, V)
  return reduceSum(perVocab, [-1], { keepDims: false }) // (B, S)
}

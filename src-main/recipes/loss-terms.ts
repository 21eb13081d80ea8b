/** Loss terms shared by recipes, over the hook's tensors (engine/train/loss-hook.ts). */
import {
  add,
  div,
  exp,
  greater,
  log,
  max,
  min,
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
  const safeTotal = where(greater(ctx.tokenTotal, 0), ctx.tokenTotal, 1)
  return div(weightedTokenSum(ctx, perToken), safeTotal)
}

/** Σ sampleWeight·tokenWeight·value over the batch's trained tokens, rank 0 (not normalised). */
export function weightedTokenSum(ctx: LossContext, perToken: Tensor): Tensor {
  const weights = mul(ctx.tokenWeights, unsqueeze(ctx.sampleWeights, [1])) // (B, S)
  return reduceSum(mul(weights, perToken), undefined, { keepDims: false })
}

/**
 * Σ_t w·value / Σ_t w for each row, w its token weights: a row's weighted mean of a per-token value
 * over its trained tokens [B]. A row without a trained token gives 0, not NaN.
 */
export function rowTokenMean(ctx: LossContext, perToken: Tensor): Tensor {
  const perRow = (value: Tensor) => reduceSum(value, [1], { keepDims: false })
  const weightSum = perRow(ctx.tokenWeights) // (B)
  return div(perRow(mul(ctx.tokenWeights, perToken)), where(greater(weightSum, 0), weightSum, 1))
}

/**
 * Σ sampleWeight·value / sampleTotal: the weighted mean of a per-row value over the rows of the
 * optimizer step, so micro-batches summed give the step's mean. A step without weight gives 0.
 */
export function weightedSampleMean(ctx: LossContext, perRow: Tensor): Tensor {
  const safeTotal = where(greater(ctx.sampleTotal, 0), ctx.sampleTotal, 1)
  return div(reduceSum(mul(ctx.sampleWeights, perRow), undefined, { keepDims: false }), safeTotal)
}

/**
 * log σ(x) = min(x, 0) − log(1 + exp(−|x|)), which neither overflows nor loses precision for large |x|.
 * NOTE: at x = 0 (every pair of a full fine-tuning run's first step) both pieces have a kink that
 * the sum does not: Min and Max send a tie's gradient to their first input, so min(x, 0) gives
 * slope 1 and |x| must be max(−x, x), slope −1 — the left-hand slopes, which sum to σ(−0) = ½.
 * Written max(x, −x), the slope at 0 would be 1.5.
 */
export function logSigmoid(x: Tensor): Tensor {
  return sub(min(x, 0), log(add(exp(neg(max(neg(x), x))), 1)))
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

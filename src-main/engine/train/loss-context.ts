/**
 * Builds the loss hook's context (loss-hook.ts) from the model's logits and the batch inputs:
 * the bridge between a model graph and a recipe's `loss`.
 *
 * Labels and weights arrive as the data gives them (not shifted: labels[t] is the target for token
 * t). They are shifted left by one here — the target of predicting position t is labels[t + 1], the
 * last column gets −100 — rather than shifting the logits, so the [B, S, V] log-softmax is used as
 * is and full-distribution terms (ASFT's KL) need no copy of it. This is what transformers' causal
 * LM loss does.
 */
import {
  cast,
  concat,
  constantOfShape,
  equal,
  gatherElements,
  logSoftmax,
  mul,
  not,
  reduceSum,
  reshape,
  shape,
  shapeOf,
  slice,
  SLICE_TO_END,
  squeeze,
  stopGradient,
  unsqueeze,
  where,
  type GraphBuilder,
  type Tensor
} from '../graph/index'
import { isFloatDType } from '../onnx/dtype'
import { IGNORE_INDEX } from '../tokenizer/labels'
import type { LossContext, LossHook, RecipeParams } from './loss-hook'

/** What a loss context is built for: a hook's needs and extra inputs, and its name for errors. */
export type LossDemands = Pick<LossHook, 'name' | 'needs' | 'inputs'>

/** The held-out loss's demands: the label log-probabilities alone. */
export const PLAIN_NLL_DEMANDS: LossDemands = { name: 'held-out NLL', needs: {} }

/** Graph tensors a loss is built from. */
export interface LossSources {
  /**
   * The trained model's logits [B, S, V]; their dtype is the loss's dtype. Or, when the recipe
   * needs only the targets' log-probabilities, `targetLogProbs`.
   */
  logits?: Tensor
  /** log p(targets) [B, S] (float32) for int64 targets [B, S] (chunked-loss.ts). */
  targetLogProbs?: (targets: Tensor) => Tensor
  /** int64 [B, S], not shifted, −100 = no target. */
  labels: Tensor
  /** [B, S] float, not shifted (the batch's loss_weights). */
  lossWeights: Tensor
  /** [B] float. */
  sampleWeights: Tensor
  /** The frozen base model's logits [B, S, V]; required when the recipe needs them. */
  baseLogits?: Tensor
  /** The optimizer step's totals (gradient accumulation); default: this batch's own. */
  tokenTotal?: Tensor
  sampleTotal?: Tensor
  /** The recipe's declared extra inputs, by name. */
  inputs?: Readonly<Record<string, Tensor>>
  /** int64 scalar seed of the step; required when the recipe needs one. */
  randomSeed?: Tensor | null
}

/** The names step graphs give the loss inputs (a batch's fields, the step totals, recipe inputs). */
export const LOSS_INPUT_NAMES = {
  labels: 'labels',
  lossWeights: 'loss_weights',
  sampleWeights: 'sample_weights',
  tokenTotal: 'token_total',
  sampleTotal: 'sample_total'
} as const

/** Graph input name of a recipe's extra input `name`. */
export function recipeInputName(name: string): string {
  return `recipe.${name}`
}

/**
 * Declares the loss inputs of a step graph: labels, loss weights and sample weights of the batch
 * (symbolic dims 'batch' and 'seq'), the step totals, and the recipe's extra inputs.
 */
export function declareLossInputs(
  g: GraphBuilder,
  recipe: LossDemands
): Omit<LossSources, 'logits' | 'baseLogits'> & { inputs: Record<string, Tensor> } {
  const inputs: Record<string, Tensor> = {}
  for (const input of recipe.inputs ?? []) {
    const shape = input.per === 'token' ? ['batch', 'seq'] : input.per === 'sample' ? ['batch'] : []
    inputs[input.name] = g.input(recipeInputName(input.name), input.dtype, shape)
  }
  return {
    labels: g.input(LOSS_INPUT_NAMES.labels, 'int64', ['batch', 'seq']),
    lossWeights: g.input(LOSS_INPUT_NAMES.lossWeights, 'float32', ['batch', 'seq']),
    sampleWeights: g.input(LOSS_INPUT_NAMES.sampleWeights, 'float32', ['batch']),
    tokenTotal: g.input(LOSS_INPUT_NAMES.tokenTotal, 'float32', []),
    sampleTotal: g.input(LOSS_INPUT_NAMES.sampleTotal, 'float32', []),
    inputs
  }
}

/** The context `recipe.loss` is called with. */
export function buildLossContext<P extends RecipeParams>(
  recipe: LossDemands,
  sources: LossSources,
  params: P
): LossContext<P> {
  const { logits, labels } = sources
  const dtype = logits?.dtype ?? 'float32'
  if (logits ? !isFloatDType(dtype) || logits.rank !== 3 : !sources.targetLogProbs) {
    throw new Error(`buildLossContext: logits ${logits} must be float [batch, seq, vocab]`)
  }
  if (!logits && recipe.needs.fullLogProbs) {
    throw new Error(
      `buildLossContext: recipe "${recipe.name}" needs the whole distribution, not only the targets'`
    )
  }
  if (labels.dtype !== 'int64' || labels.rank !== 2) {
    throw new Error(`buildLossContext: labels ${labels} must be int64 [batch, seq]`)
  }
  const needsBase = recipe.needs.baseModelLogits ?? false
  if (needsBase && !sources.baseLogits) {
    throw new Error(`buildLossContext: recipe "${recipe.name}" needs the base model's logits`)
  }
  if (recipe.needs.randomSeed && !sources.randomSeed) {
    throw new Error(`buildLossContext: recipe "${recipe.name}" needs a random seed`)
  }
  for (const input of recipe.inputs ?? []) {
    if (!sources.inputs?.[input.name]) {
      throw new Error(`buildLossContext: recipe "${recipe.name}" needs the input "${input.name}"`)
    }
  }

  const targets = shiftLeft(labels, IGNORE_INDEX) // (B, S)
  const ignored = equal(targets, IGNORE_INDEX) // (B, S)
  const labelMask = cast(not(ignored), dtype) // (B, S)
  const safeTargets = where(ignored, 0, targets) // (B, S)
  const targetLogProbs = (all: Tensor) => squeeze(gatherElements(all, unsqueeze(safeTargets, [2]), 2), [2]) // (B, S)
  const logProbs = logits ? logSoftmax(logits, -1) : null // (B, S, V)
  const baseLogProbs = needsBase ? logSoftmax(stopGradient(sources.baseLogits!), -1) : null // (B, S, V)
  // Weights count only where there is a target: a weight on an untrained token would skew totals.
  const tokenWeights = mul(shiftLeft(cast(sources.lossWeights, dtype), 0), labelMask) // (B, S)
  const sampleWeights = cast(sources.sampleWeights, dtype) // (B)

  const ownTokenTotal = () =>
    reduceSum(mul(tokenWeights, unsqueeze(sampleWeights, [1])), undefined, { keepDims: false })
  const ownSampleTotal = () => reduceSum(sampleWeights, undefined, { keepDims: false })
  return {
    tokenLogProbs: logProbs ? targetLogProbs(logProbs) : sources.targetLogProbs!(safeTargets),
    logProbs: recipe.needs.fullLogProbs ? logProbs : null,
    baseLogProbs,
    baseTokenLogProbs: baseLogProbs ? targetLogProbs(baseLogProbs) : null,
    targets: safeTargets,
    labelMask,
    tokenWeights,
    sampleWeights,
    tokenTotal: sources.tokenTotal ? cast(sources.tokenTotal, dtype) : ownTokenTotal(),
    sampleTotal: sources.sampleTotal ? cast(sources.sampleTotal, dtype) : ownSampleTotal(),
    inputs: sources.inputs ?? {},
    randomSeed: recipe.needs.randomSeed ? sources.randomSeed! : null,
    params
  }
}

/**
 * x[:, 1:] followed by one column of `fill`, keeping x's shape [B, S]. A Concat, not a Pad: CUDA's
 * Pad has no int64 kernel, and the labels are int64.
 */
function shiftLeft(x: Tensor, fill: number): Tensor {
  const column = constantOfShape(concat([shape(x, 0, 1), x.graph.int64s([1])], 0), fill, x.dtype) // (B, 1)
  const shifted = concat([slice(x, [1], [SLICE_TO_END], [1]), column], 1) // (B, S)
  return reshape(shifted, shapeOf(x), x.shape)
}

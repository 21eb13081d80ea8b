/**
 * What a training recipe gives the trainer: THE LOSS HOOK, a pure function from graph tensors to a
 * scalar loss, called while the step graph is built, so a recipe never touches the compiler. The
 * recipes (src-main/recipes/) implement it; the engine depends on this module only, and the callers
 * above the engine (jobs, api, cli) hand it the recipe registry as a RecipeResolver.
 *
 * Alignment. Every per-token tensor in the hook is [B, S] (B rows, S columns) and indexed by the
 * PREDICTING position: entry t concerns the token at t + 1, predicted from tokens ≤ t.
 * loss-context.ts shifts labels and weights (not logits) to get there, so full distributions
 * [B, S, V] need no copy; column S − 1 predicts nothing and is masked.
 *
 * Normalisation. `tokenTotal` and `sampleTotal` are the totals of the whole optimizer step, fed by
 * the trainer: with gradient accumulation each micro-batch divides by them, so the summed
 * micro-batch gradients are the gradient of the step's loss (optimizers.ts).
 *
 * How the recipe catalogue (shared/RECIPES.md, "What the engine must therefore support") maps here:
 *  1. Inputs and labels decoupled: examples carry input ids and labels separately and nothing
 *     re-derives labels from inputs, so a data transform may mask inputs and keep labels.
 *  2. Per-token / per-sample weights: `tokenWeights` [B, S] and `sampleWeights` [B] are inputs;
 *     weights computed in-graph (DFT's p, CHORD's p(1−p)) are built inside the hook from
 *     `tokenLogProbs` behind stopGradient.
 *  3. Frozen base model in the same step: `needs.baseModelLogits` makes the compiler run the base
 *     (for LoRA the same graph with the adapter off) and pass `baseLogProbs`, stop-gradient.
 *  4. Sequence-level losses over groups: `rows` turns each sample into a group of `groupSize`
 *     consecutive rows (DPO: chosen, then rejected); batches.ts keeps groups whole (shuffling moves
 *     whole groups, no batch or micro-batch splits one) and refuses packing. In the hook, sum per
 *     row with reduceSum over axis 1, then reshape [B/G, G].
 *  5. Reference values as inputs: `inputs` declares extra step inputs by name and granularity
 *     (per token [B, S], per sample [B], per step []), fed from each batch's `recipeInputs` and
 *     handed to the hook in `ctx.inputs`.
 *  6. Forward-only statistics: `perSample` outputs [B] of the hook become graph outputs, returned
 *     in the step's result and the trainer's step event; a scoring graph compiled from the same
 *     hook without gradients serves GRAPE/UDS-style passes.
 *  7./8. Generation between steps and state across steps (GRPO, S3FT, GLOW, SEELE, UDS) happen on
 *     the JS side of the trainer loop, between graph runs: they produce this hook's extra inputs
 *     and sample weights and consume its per-sample outputs; their JSON state is checkpointed with
 *     the run. The loss hook itself stays a pure graph function.
 */
import type { Tensor } from '../graph/index'
import type { TrainingData, TrainingExample } from './data'
import type { RecipeRunHooks } from './run-hooks'

export type ParamValue = number | boolean | string

/** Resolved parameter values by name; the registry guarantees each matches its declaration. */
export type RecipeParams = Readonly<Record<string, ParamValue>>

/** What a recipe needs the compiler to build besides the label log-probabilities. */
export interface RecipeNeeds {
  /** `logProbs` [B, S, V]: the model's full log-softmax. */
  fullLogProbs?: boolean
  /** `baseLogProbs` [B, S, V]: the frozen base model's log-softmax, stop-gradient. */
  baseModelLogits?: boolean
  /** `randomSeed`: a seed for in-graph sampling, new each optimizer step and micro-batch (dropout.ts). */
  randomSeed?: boolean
}

/** An extra step input a recipe reads (reference log-probs, advantages, …). */
export interface RecipeInput {
  name: string
  description: string
  /** 'token': [B, S] aligned like tokenLogProbs; 'sample': [B]; 'step': a scalar. */
  per: 'token' | 'sample' | 'step'
  dtype: 'float32' | 'int64'
}

export interface LossContext<P extends RecipeParams = RecipeParams> {
  /** log p(target) at each predicting position [B, S], differentiable; arbitrary where labelMask is 0. */
  tokenLogProbs: Tensor
  /** The model's full log-softmax [B, S, V]; present when needs.fullLogProbs. */
  logProbs: Tensor | null
  /** The frozen base model's log-softmax [B, S, V], stop-gradient; present when needs.baseModelLogits. */
  baseLogProbs: Tensor | null
  /** The base model's log p(target) [B, S], aligned like tokenLogProbs; present with baseLogProbs. */
  baseTokenLogProbs: Tensor | null
  /** The target token id at each predicting position [B, S], int64; 0 where labelMask is 0. */
  targets: Tensor
  /** 1 where a target is trained, 0 elsewhere [B, S], float. */
  labelMask: Tensor
  /** Data weight of each target [B, S], float; 0 wherever labelMask is 0. */
  tokenWeights: Tensor
  /** Per-row weight [B], float. */
  sampleWeights: Tensor
  /** Σ sampleWeights·tokenWeights over the whole optimizer step (all micro-batches), rank 0. */
  tokenTotal: Tensor
  /** Σ sampleWeights over the whole optimizer step, rank 0. */
  sampleTotal: Tensor
  /** The declared extra inputs, by name. */
  inputs: Readonly<Record<string, Tensor>>
  /** int64 scalar seed of this step and micro-batch; present when needs.randomSeed. */
  randomSeed: Tensor | null
  params: P
}

export interface LossResult {
  /** Rank-0 loss to minimise (what is reported as the step's loss). */
  loss: Tensor
  /** Rank-0 values to report beside the loss (terms of it, typically). */
  metrics?: Record<string, Tensor>
  /** [B] statistics per row (per-sample loss, …) for recipes that keep histories or select data. */
  perSample?: Record<string, Tensor>
}

/** The part of a recipe the step-graph compiler reads; the trainer also runs its run hooks (run-hooks.ts). */
export interface LossHook<P extends RecipeParams = RecipeParams> extends RecipeRunHooks<P> {
  /** The recipe's name, for error messages and the compiled graphs' cache key. */
  name: string
  needs: RecipeNeeds
  /** Extra step inputs; none when absent. */
  inputs?: readonly RecipeInput[]
  /**
   * The rows one sample trains as, in order: exactly `groupSize` of them. Default: the sample
   * itself. Throws naming the sample's line when the sample cannot be used (DPO without a
   * rejected response).
   */
  rows?(sample: TrainingExample, params: P): TrainingExample[]
  /**
   * Instead of `rows`: the samples are rows already, grouped by the data itself (grpo's rollouts:
   * consecutive rows of one group). Returns the epoch's data with the rows in whole groups of
   * `groupSize` and any group it leaves out added to `dropped` with why; throws naming the line of
   * a sample that cannot be grouped.
   */
  groupRows?(data: TrainingData, params: P): TrainingData
  /** Rows come in consecutive groups of this many (a number, or the name of an integer param); default 1. */
  groupSize?: number | string
  loss(ctx: LossContext<P>): LossResult
}

/** A recipe chosen for a run: its hook, and its parameter values with the defaults applied. */
export interface ResolvedRecipe {
  hook: LossHook
  params: RecipeParams
}

/**
 * Finds recipe `name` and resolves `given` over its parameter defaults (values may be strings, as
 * the command line gives them); throws naming the recipe, or the parameter and its value.
 */
export type RecipeResolver = (name: string, given?: Readonly<Record<string, unknown>>) => ResolvedRecipe

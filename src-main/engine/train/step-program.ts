/**
 * The seam between the step-graph compiler (which turns a model + adapter + optimizer + recipe into
 * compiled ONNX graphs and runs them) and the trainer loop (data order, schedule, checkpoints,
 * resume, progress). The compiler implements `StepProgram`; the trainer only ever talks to it.
 */
import type { CandidateStatistic } from './run-hooks'
import type { LoraConfig } from '../checkpoint/peft'
import type { Device } from '../runtime/devices'
import type { ResolvedRecipe } from './loss-hook'
import type { OptimizerConfig } from './optimizers'
import type { TrainingBatch } from './batches'
import type { BasePrecision } from '../models/base-precision'

export type AdapterSpec =
  | {
      kind: 'lora'
      r: number
      alpha: number
      dropout: number
      /** Module names, e.g. q_proj, v_proj (PEFT `target_modules`). */
      targets: string[]
      /** Start from this PEFT adapter folder (its r, alpha, targets and weights win). */
      initAdapterDir?: string | null
    }
  | { kind: 'full'; freezeEmbeddings: boolean }

export interface StepProgramSpec {
  /** The HF base model folder. */
  modelDir: string
  adapter: AdapterSpec
  optimizer: OptimizerConfig
  recipe: ResolvedRecipe
  device: Device
  /** Compiled graphs are cached here by a hash of everything that produced them. */
  cacheDir: string
  /** Seeds LoRA's initialisation (A Kaiming-uniform as PEFT, B zero) and dropout. */
  seed: number
  /** Whether batches are packed (position_ids + segment_ids) rather than right-padded. */
  packed: boolean
  /** How the graphs trade memory for time; default: float32 base, no recomputation, logits whole. */
  memory?: StepMemoryOptions
}

/** The memory settings of a step graph (step-graph.ts). */
export interface StepMemoryOptions {
  /** How LoRA's frozen base matrices are stored (full fine-tuning: 'fp32' only). */
  basePrecision: BasePrecision
  /**
   * Recompute each decoder layer's activations in the backward pass from the layer's input
   * (gradient checkpointing) instead of keeping them from the forward pass.
   */
  recompute: boolean
  /**
   * The LM head and the loss run over the batch's tokens in this many chunks, each recomputed in
   * the backward pass, so [batch, seq, vocab] logits are never held whole; 1 = in one piece.
   * Recipes that need the full distribution (or the base model's) always run in one piece.
   */
  lossChunks: number
}

/** Per-step scalars: fed to the graph, so one compiled graph serves every step. */
export interface StepScalarValues {
  lr: number
  /** 1-based number of this optimizer update. */
  step: number
  /** 0 turns clipping off. */
  maxGradNorm: number
}

export interface StepResult {
  /** The loss of this optimizer step's data, computed before the update. */
  loss: number
  /** Global L2 norm of the (summed) gradients, before clipping. */
  gradNorm: number
  /** Labelled tokens the step trained on. */
  tokens: number
  /**
   * Recipe metrics (e.g. asft's KL) of the step. Like the loss, each micro-batch's value is
   * normalised by the whole step's totals, so the step's value is their sum.
   */
  metrics: Record<string, number>
  /**
   * Per micro-batch, [rows × columns] indexed like the labels: entry t = log p(labels[t] | tokens
   * < t) before the update, 0 where nothing is predicted.
   */
  tokenLogProbs?: Float32Array[]
  /** The recipe's `perSample` outputs by name: per micro-batch, one value per row [rows]. */
  perSample?: Record<string, Float32Array[]>
}

/** A step's per-sample outputs as the trainer reports them: rows in batch order over its micro-batches. */
export interface PerSampleReport {
  /** The examples of each row (indices into the epoch's examples). */
  rows: number[][]
  values: Record<string, number[]>
}

/** The step's per-sample outputs flattened over its micro-batches; nothing when the recipe has none. */
export function perSampleReport(
  result: StepResult,
  microBatches: readonly TrainingBatch[]
): { perSample?: PerSampleReport } {
  const outputs = Object.entries(result.perSample ?? {})
  if (outputs.length === 0) return {}
  const rows = microBatches.flatMap((batch) => batch.examples)
  const values = Object.fromEntries(
    outputs.map(([name, perBatch]) => [name, perBatch.flatMap((v) => [...v])])
  )
  return { perSample: { rows, values } }
}

export interface EvalResult {
  /** Mean NLL over the batch's labelled tokens. */
  loss: number
  tokens: number
  /** [rows × columns] indexed like the labels (as StepResult.tokenLogProbs). */
  tokenLogProbs?: Float32Array
}

/** Trainable tensors and optimizer state by name: what a checkpoint stores and a resume restores. */
export interface TrainableState {
  params: Map<string, { shape: number[]; data: Float32Array }>
  optimizer: Map<string, { shape: number[]; data: Float32Array }>
}

export interface StepProgram {
  readonly spec: StepProgramSpec
  /** Names of the trainable tensors (HF names for full fine-tuning, PEFT names for LoRA). */
  readonly trainableNames: readonly string[]
  /** LoRA: the effective adapter config to export with (an init adapter's r, alpha, targets win). */
  readonly loraConfig?: LoraConfig | null
  /**
   * One optimizer step over one or more micro-batches (gradient accumulation). The update is
   * applied whatever the loss: after a non-finite loss or gradient norm the weights are non-finite
   * too (the trainer stops there and keeps its last good checkpoint).
   */
  step(microBatches: readonly TrainingBatch[], scalars: StepScalarValues): Promise<StepResult>
  /** Forward only: the plain mean NLL on a batch (held-out loss), with the current weights. */
  evaluate(batch: TrainingBatch): Promise<EvalResult>
  /** Forward only: the recipe's batch-selection statistics of a candidate batch (run-hooks.ts). */
  score(batch: TrainingBatch): Promise<Record<string, CandidateStatistic>>
  /**
   * Copies of the current tensors; optimizer state keyed `${trainable name}.${state name}`
   * (exp_avg, exp_avg_sq, momentum_buffer).
   */
  exportState(): TrainableState
  importState(state: TrainableState): void
  release(): Promise<void>
}

/**
 * How much memory a training run's step needs at its peak, before it starts (issue #18): what the
 * run pre-flight shows, so a user knows whether a run fits. It follows what the step program holds
 * (compile-step.ts, graph-step-program.ts, step-graph.ts) term by term, in bytes:
 *
 *   weights      the frozen base in the session(s): 2-D matrices in the base precision, norms and
 *                biases float32, once per open onnxruntime session; a float32 base's matrices also
 *                pre-packed by onnxruntime
 *   trainable    the trainable tensors (float32, fed each step)
 *   optimizer    their gradients plus the optimizer's state (AdamW: two moments)
 *   activations  what the backward pass keeps of the decoder layers
 *   logits       the LM head's logits with their log-softmax and gradient, whole or one chunk
 *   runtime      the Node process with the engine and onnxruntime loaded (measured), and the float32
 *                copies a lower precision's decoding holds at once
 *
 * The fitted constants below were calibrated by bench/memory-estimate.ts against the peak RSS of
 * whole training steps; each states the measurement that gave it.
 */
import type { ModelConfig } from '../checkpoint/hf-config'
import { expectedTensors } from '../checkpoint/hf-layout'
import type { BasePrecision } from '../models/base-precision'
import type { OptimizerConfig } from './optimizers'
import type { AdapterSpec } from './step-program'

const FLOAT32 = 4

/** Bytes per stored value of a frozen matrix (frozen-matrices.ts), and the block its rows pad to. */
const STORED_BYTES: Record<BasePrecision, { perValue: number; block: number }> = {
  fp32: { perValue: 4, block: 1 },
  fp16: { perValue: 2, block: 1 },
  bf16: { perValue: 2, block: 1 },
  int8: { perValue: 34 / 32, block: 32 }, // Q8_0: a float16 scale and 32 int8 values per block
  int4: { perValue: 18 / 32, block: 32 } // Q4_0: a float16 scale and 16 bytes of nibbles per block
}

/**
 * Float32 values a decoder layer keeps per token for its backward pass, as multiples of the hidden
 * size E and the intermediate size I (the norms' inputs and outputs, q/k/v before and after RoPE,
 * the attention output, o_proj's, the MLP's gate, up, their activation and product), plus
 * per-head attention maps (scores and probabilities, S values each per token). Counted from the
 * layer's graph; the calibration below left them as counted.
 */
const KEPT_PER_TOKEN = { hidden: 16, intermediate: 4, attentionMaps: 2 }

/**
 * Copies of the logits alive at once when the loss runs on [B·S, V] whole: the logits, their
 * log-softmax, its exponent and the gradients of both. Fitted: the steps without recomputation or
 * chunks peaked at 4.72 GB (SmolLM-135M shape) and 12.44 GB (Qwen2.5-0.5B shape), batch 4 × 256
 * (least squares over all eleven calibration rows gave 4.6).
 */
const WHOLE_LOGIT_COPIES = 5

/**
 * Copies of one chunk's logits alive at once in a chunked loss (its logits, log-softmax and their
 * gradient: the chunk's segment is recomputed and freed one at a time). Fitted with the rows with
 * recomputation (1.99 and 5.33 GB, float32 base).
 */
const CHUNK_LOGIT_COPIES = 3

/**
 * With recomputation, layers' worth of KEPT_PER_TOKEN alive at once in the backward pass: the one
 * layer being recomputed (its gradients reuse what the forward pass of the next freed). Fitted:
 * least squares over the eleven calibration rows gave 1.0 (2, activations plus their gradients,
 * would be the bound if nothing were reused).
 */
const RECOMPUTED_LAYERS_LIVE = 1

/**
 * Extra copies of a float32 base's matrices beyond the stored one: onnxruntime pre-packs constant
 * Gemm/MatMul weights into its own layout (and keeps the original, which the backward pass's
 * transposed products use too). A base stored below float32 is decoded at run time, so nothing is
 * pre-packed. Fitted: the float32 rows with recomputation peaked at 1.99 GB (SmolLM-135M, 0.54 GB
 * of matrices) and 5.33 GB (Qwen2.5-0.5B, 1.98 GB of matrices), 0.8 and 2.5 GB above the terms
 * without it.
 */
const FP32_PREPACKED_COPIES = 1.45

/**
 * A base stored below float32 as its decoding holds it: float32 copies of the larger of one decoder
 * layer's matrices (a recomputed layer decodes its seven projections in its replay, and their
 * gradient products read them again) and the largest matrix decoded whole (the LM head when its
 * loss is not chunked, else one chunk of its rows), plus a fixed working set. Fitted by least
 * squares on the relative error of the nine calibration rows below float32 (with recomputation and
 * chunks: SmolLM-135M fp16/int8/int4 peaked at 0.99/0.97/0.89 GB, Qwen2.5-0.5B at 1.92/1.42/1.28
 * GB and 0.95 GB at 2 × 128, Llama-3.2-1B int4 2.08 GB, Qwen2.5-3B int4 3.96 GB); the precision
 * made no difference worth a constant of its own.
 */
const DECODED_COPIES = 1.7
const DECODING_WORKSPACE_BYTES = 180e6

/**
 * RSS of a Node process that has imported the engine and onnxruntime and built nothing (measured
 * by bench/memory-estimate.ts: 126 MB); the estimate's default when the caller measured none.
 */
export const NODE_BASELINE_BYTES = 126e6

export interface MemoryEstimateInput {
  model: ModelConfig
  adapter: AdapterSpec
  optimizer: OptimizerConfig
  basePrecision: BasePrecision
  recompute: boolean
  lossChunks: number
  batchSize: number
  /** Tokens per row of a micro-batch (the longest kept example, at most maxSeqLen). */
  seqLen: number
  /** The recipe also runs the frozen base model (its logits always whole). */
  recipeNeedsBaseLogits: boolean
  /** The recipe reads the whole log-softmax (its loss is never chunked either). */
  recipeNeedsFullLogProbs?: boolean
  /** onnxruntime sessions open at once: the step graph, plus eval's, plus accumulation's. */
  openSessions?: number
  /** The process's RSS before anything is built (default NODE_BASELINE_BYTES). */
  processBaselineBytes?: number
}

export interface MemoryEstimate {
  weights: number
  trainable: number
  optimizer: number
  activations: number
  logits: number
  runtime: number
  total: number
}

/** LoRA's r·(in + out) values per adapted projection and layer. */
function loraValues(model: ModelConfig, r: number, targets: readonly string[]): number {
  const h = model.hiddenSize
  const q = model.numHeads * model.headDim
  const kv = model.numKvHeads * model.headDim
  const i = model.intermediateSize
  const shapes: Record<string, [number, number]> = {
    q_proj: [h, q],
    k_proj: [h, kv],
    v_proj: [h, kv],
    o_proj: [q, h],
    gate_proj: [h, i],
    up_proj: [h, i],
    down_proj: [i, h]
  }
  return model.numLayers * targets.reduce((n, t) => n + r * (shapes[t][0] + shapes[t][1]), 0)
}

/** Names of the base tensors full fine-tuning keeps frozen (compile-step.ts fullFineTuningTensors). */
function frozenByFullFineTuning(adapter: Extract<AdapterSpec, { kind: 'full' }>): Set<string> {
  return adapter.freezeEmbeddings ? new Set(['model.embed_tokens.weight']) : new Set()
}

/** The base model's tensors the session holds as constants: all for LoRA, the frozen ones for full. */
function frozenTensors(model: ModelConfig, adapter: AdapterSpec): ReturnType<typeof expectedTensors> {
  const tensors = expectedTensors(model)
  if (adapter.kind === 'lora') return tensors
  const frozen = frozenByFullFineTuning(adapter)
  return tensors.filter(({ name }) => frozen.has(name))
}

/** Bytes of one stored copy of the frozen base: matrices in `precision` (rows padded to its block). */
function frozenBaseBytes(model: ModelConfig, adapter: AdapterSpec, precision: BasePrecision): number {
  const { perValue, block } = STORED_BYTES[precision]
  return frozenTensors(model, adapter).reduce((sum, { shape }) => {
    if (shape.length !== 2) return sum + shape[0] * FLOAT32
    const [rows, columns] = shape
    return sum + rows * Math.ceil(columns / block) * block * perValue
  }, 0)
}

/** The frozen base's matrices in float32 (what onnxruntime pre-packs of a float32 base). */
function frozenMatrixFloat32Bytes(model: ModelConfig, adapter: AdapterSpec): number {
  return frozenTensors(model, adapter)
    .filter(({ shape }) => shape.length === 2)
    .reduce((sum, { shape }) => sum + shape[0] * shape[1] * FLOAT32, 0)
}

/**
 * Float32 bytes of what a lower-precision base has decoded at once: one decoder layer's matrices,
 * or the largest matrix decoded whole if larger — a projection, or the LM head when its loss is
 * not chunked; a chunked loss decodes the head one chunk of vocabulary rows at a time
 * (chunked-loss.ts), and the embeddings are only ever looked up by row.
 */
function decodedAtOnceBytes(model: ModelConfig, lossChunks: number): number {
  const head = model.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight'
  const matrices = expectedTensors(model).filter(({ shape }) => shape.length === 2)
  const layer = matrices
    .filter(({ name }) => name.startsWith('model.layers.0.'))
    .reduce((sum, { shape }) => sum + shape[0] * shape[1], 0)
  const whole = matrices.map(({ name, shape }) => {
    if (name === head) return Math.ceil(shape[0] / lossChunks) * shape[1]
    return name === 'model.embed_tokens.weight' ? 0 : shape[0] * shape[1]
  })
  return Math.max(layer, ...whole) * FLOAT32
}

function trainableCount(model: ModelConfig, adapter: AdapterSpec): number {
  if (adapter.kind === 'lora') return loraValues(model, adapter.r, adapter.targets)
  const frozen = frozenByFullFineTuning(adapter)
  return expectedTensors(model)
    .filter(({ name }) => !frozen.has(name))
    .reduce((sum, { shape }) => sum + shape.reduce((n, d) => n * d, 1), 0)
}

function optimizerStateValues(optimizer: OptimizerConfig, trainable: number): number {
  if (optimizer.kind === 'adamw') return 2 * trainable
  return optimizer.momentum > 0 ? trainable : 0
}

/** Bytes one decoder layer keeps for the backward pass over `tokens` tokens of `seqLen`. */
function layerKeptBytes(model: ModelConfig, tokens: number, seqLen: number): number {
  const perToken =
    KEPT_PER_TOKEN.hidden * model.hiddenSize +
    KEPT_PER_TOKEN.intermediate * model.intermediateSize +
    KEPT_PER_TOKEN.attentionMaps * model.numHeads * seqLen
  return tokens * perToken * FLOAT32
}

export function estimateTrainingMemory(input: MemoryEstimateInput): MemoryEstimate {
  const { model, adapter, batchSize, seqLen } = input
  if (adapter.kind === 'full' && input.basePrecision !== 'fp32') {
    throw new Error(
      `memory estimate: base precision ${input.basePrecision} applies to LoRA's frozen base; full fine-tuning trains float32 weights`
    )
  }
  const tokens = batchSize * seqLen
  const sessions = input.openSessions ?? 1
  const trainable = trainableCount(model, adapter)

  // The frozen base as onnxruntime holds it: each session loads its own copy of the initializers,
  // and pre-packs those of a float32 base.
  const prepacked =
    input.basePrecision === 'fp32' ? FP32_PREPACKED_COPIES * frozenMatrixFloat32Bytes(model, adapter) : 0
  const weights = sessions * (frozenBaseBytes(model, adapter, input.basePrecision) + prepacked)
  // The trainable tensors, fed from the program's Float32Arrays and updated in place.
  const trainableBytes = trainable * FLOAT32
  // Their gradients (the step graph's intermediate values) and the optimizer's state arrays.
  const optimizer = (trainable + optimizerStateValues(input.optimizer, trainable)) * FLOAT32
  // Without recomputation every layer's activations live until its backward pass; with it only
  // each layer's input [B, S, E], plus the layer being recomputed.
  const oneLayer = layerKeptBytes(model, tokens, seqLen)
  const decoder = input.recompute
    ? model.numLayers * tokens * model.hiddenSize * FLOAT32 + RECOMPUTED_LAYERS_LIVE * oneLayer
    : model.numLayers * oneLayer
  // A recipe running the base model too holds its forward pass as well (taken as much again: no
  // calibration row runs such a recipe).
  const activations = decoder * (input.recipeNeedsBaseLogits ? 2 : 1)
  // The loss: one chunk of the logits at a time (ceil(B·S/k) rows, or all rows over ceil(V/k) of
  // the vocabulary for a decoded head: the same size), or [B, S, V] whole (always whole, and the
  // base model's too, when the recipe needs the base model's logits), as step-graph.ts chunks it.
  const chunks =
    input.recipeNeedsBaseLogits || input.recipeNeedsFullLogProbs ? 1 : Math.max(1, input.lossChunks)
  const logits =
    chunks === 1
      ? tokens * model.vocabSize * FLOAT32 * WHOLE_LOGIT_COPIES * (input.recipeNeedsBaseLogits ? 2 : 1)
      : Math.ceil(tokens / chunks) * model.vocabSize * FLOAT32 * CHUNK_LOGIT_COPIES
  // A base stored below float32 is decoded just before each use and dropped after it.
  const decoded =
    input.basePrecision === 'fp32'
      ? 0
      : DECODING_WORKSPACE_BYTES + DECODED_COPIES * decodedAtOnceBytes(model, chunks)
  // The process's own memory (Node, the engine's modules, onnxruntime's library and threads) and
  // the decoded copies: what the tensors above do not count.
  const runtime = (input.processBaselineBytes ?? NODE_BASELINE_BYTES) + decoded
  const total = weights + trainableBytes + optimizer + activations + logits + runtime
  return {
    weights,
    trainable: trainableBytes,
    optimizer,
    activations,
    logits,
    runtime,
    total
  }
}

/**
 * The Llama-family decoder (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM with q/k/v
 * bias, Qwen3ForCausalLM with per-head q/k RMSNorm) written on the graph DSL from a ModelConfig.
 *
 * The builder does not know where weights come from: it asks a `param(name, shape)` provider for
 * every tensor by its HF checkpoint name, so inference hands it frozen initializers and training
 * hands it graph inputs for trainable tensors. Every projection goes through a `linear` hook,
 * which LoRA replaces to add its low-rank path. Only standard ONNX ops are used, so autodiff can
 * differentiate the result; fused.ts is the inference-only twin on onnxruntime's contrib ops.
 *
 * Shapes in comments: B batch, S new positions, P past positions, T = P + S keys, H query heads,
 * K key/value heads, n = H / K query heads per key/value head, D head dim, E hidden size.
 */
import type { ModelConfig } from '../checkpoint/hf-config'
import { layerPrefix } from '../checkpoint/hf-layout'
import {
  add,
  cast,
  concat,
  constantOfShape,
  equal,
  gather,
  mul,
  reshape,
  shape,
  sub,
  transpose,
  trilu,
  unsqueeze,
  where,
  type Dim,
  type Tensor
} from '../graph/index'
import { groupedQueryAttention, linear as denseLinear, rmsNorm, silu } from './blocks'
import { applyRotary, rotaryTables, type RotaryTables } from './rope'

/**
 * Returns the tensor for a checkpoint weight; `shape` is what the config implies. `near` is the
 * activation a matrix is about to be multiplied with, for providers that decode stored matrices:
 * the decoding then waits for it (weights.ts).
 */
export type ParamProvider = (name: string, shape: readonly number[], near?: Tensor) => Tensor

/**
 * x·Wᵀ (+ b) for the projection called `name` (its module path, e.g.
 * `model.layers.3.self_attn.q_proj`), W [out, in] as in HF checkpoints. LoRA wraps this.
 */
export type LinearHook = (name: string, x: Tensor, weight: Tensor, bias: Tensor | null) => Tensor

export interface DecoderWeights {
  param: ParamProvider
  /** Default: a plain dense projection. */
  linear?: LinearHook
  /** The embedding rows of token ids [B, S] → [B, S, E]; default: Gather from the whole matrix. */
  embedRows?: (ids: Tensor) => Tensor
  /**
   * Recompute each layer in the backward pass rather than keep its activations (gradient
   * checkpointing: every layer is a GraphBuilder.checkpoint segment). Training graphs only.
   */
  checkpointLayers?: boolean
}

/** Keys and values of one layer, [B, K, T, D], after RoPE. */
export interface LayerKeyValues {
  key: Tensor
  value: Tensor
}

export interface DecoderInputs {
  /** int64 [B, S]. */
  inputIds: Tensor
  /** int64 positions of the new tokens, [S] (same on every row) or [B, S]. */
  positions: Tensor
  /** Additive attention mask broadcastable to [B, 1, 1, S, T] (see `attentionBias`). */
  attentionBias: Tensor
  /** The cache of earlier positions, one entry per layer, [B, K, P, D] each. */
  past?: readonly LayerKeyValues[]
}

export interface DecoderOutputs {
  /** Hidden states after the final norm, [B, S, E]. */
  hidden: Tensor
  /** Past and new keys/values per layer, [B, K, T, D]: the next run's `past`. */
  present: LayerKeyValues[]
}

/** Runs the embedding and every decoder layer; `lmHead` turns the result into logits. */
export function decoderForward(
  config: ModelConfig,
  weights: DecoderWeights,
  inputs: DecoderInputs
): DecoderOutputs {
  if (inputs.past && inputs.past.length !== config.numLayers) {
    throw new Error(`decoderForward: past has ${inputs.past.length} layers, the model ${config.numLayers}`)
  }
  const g = inputs.inputIds.graph
  const { param } = weights
  const linear = weights.linear ?? plainLinear
  const model = { config, param, linear }
  let x = weights.embedRows
    ? weights.embedRows(inputs.inputIds)
    : gather(param('model.embed_tokens.weight', [config.vocabSize, config.hiddenSize]), inputs.inputIds) // (B, S, E)
  if (inputs.positions.rank !== 1 && inputs.positions.rank !== 2) {
    throw new Error(`decoderForward: positions ${inputs.positions} must be [S] or [B, S]`)
  }
  const rotary = rotaryTables(config, inputs.positions, x.dtype)
  const present: LayerKeyValues[] = []
  for (let i = 0; i < config.numLayers; i++) {
    const past = inputs.past?.[i]
    const build = () => decoderLayer(model, i, x, rotary, inputs.attentionBias, past)
    const layer = g.scope(`layers.${i}`, () => (weights.checkpointLayers ? g.checkpoint(build) : build()))
    x = layer.x
    present.push(layer.keyValues)
  }
  const hidden = rmsNorm(x, param('model.norm.weight', [config.hiddenSize]), config.rmsNormEps)
  return { hidden, present }
}

/** Logits [..., V] from final hidden states [..., E]: lm_head, or the embeddings when tied. */
export function lmHead(config: ModelConfig, weights: DecoderWeights, hidden: Tensor): Tensor {
  const name = config.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight'
  return denseLinear(hidden, weights.param(name, [config.vocabSize, config.hiddenSize]))
}

/**
 * The additive mask for right-padded batches: causal over S positions plus key padding from an
 * int64 attention mask [B, S] of 1 (token) / 0 (padding). Shape [B, 1, 1, S, S].
 */
export function paddedCausalBias(attentionMask: Tensor): Tensor {
  const causal = rowsCausalBias(attentionMask) // (S, S)
  const keep = cast(attentionMask, 'float32') // (B, S)
  const padding = reshape(mul(sub(1, keep), MASKED), [0, 1, 1, 1, -1]) // (B, 1, 1, 1, S)
  return add(causal, padding) // (B, 1, 1, S, S)
}

/**
 * The additive mask for packed batches, where a row holds several samples end to end: query i may
 * attend key j only when j ≤ i and both belong to the same sample (equal int64 segment ids [B, S];
 * padding, segment 0, attends only padding). Shape [B, 1, 1, S, S]. Pair it with per-row
 * positions [B, S] that restart at 0 with every sample.
 */
export function segmentCausalBias(segmentIds: Tensor): Tensor {
  const causal = rowsCausalBias(segmentIds) // (S, S)
  const sameSample = equal(unsqueeze(segmentIds, [2]), unsqueeze(segmentIds, [1])) // (B, S, S)
  const apart = where(sameSample, segmentIds.graph.scalar(0, 'float32'), MASKED) // (B, S, S)
  return unsqueeze(add(apart, causal), [1, 2]) // (B, 1, 1, S, S)
}

/**
 * The additive mask for rows that hold a shared prefix followed by several continuations end to
 * end (int64 segment ids [B, S]: 0 the prefix, 1, 2, … one per continuation, −1 padding): query i
 * may attend key j ≤ i when j is in the prefix or in i's own segment, so every continuation sees
 * the prefix and its own earlier tokens, as if it ran alone after the prefix. Shape
 * [B, 1, 1, S, S]. Pair it with positions [B, S] that restart after the prefix for every
 * continuation.
 */
export function sharedPrefixCausalBias(segmentIds: Tensor): Tensor {
  const g = segmentIds.graph
  const causal = rowsCausalBias(segmentIds) // (S, S)
  const sameSegment = equal(unsqueeze(segmentIds, [2]), unsqueeze(segmentIds, [1])) // (B, S, S)
  const prefixKey = unsqueeze(equal(segmentIds, 0), [1]) // (B, 1, S)
  const otherSegment = where(prefixKey, g.scalar(0, 'float32'), MASKED) // (B, 1, S)
  const apart = where(sameSegment, g.scalar(0, 'float32'), otherSegment) // (B, S, S)
  return unsqueeze(add(apart, causal), [1, 2]) // (B, 1, 1, S, S)
}

/**
 * Causal mask for S new positions after P cached ones, [S, T] with T = P + S: query i sees keys
 * j ≤ P + i. `past`, `newLength` and `total` are 1-D int64 tensors of one element; `dims` states
 * S and T where the caller knows them (symbolic dims let autodiff see that the mask broadcasts
 * against the scores without run-time shape logic).
 */
export function causalBias(
  past: Tensor,
  newLength: Tensor,
  total: Tensor,
  dims: readonly [Dim, Dim] = [null, null]
): Tensor {
  const filled = constantOfShape(concat([newLength, total], 0), MASKED, 'float32', dims) // (S, T)
  const offset = reshape(add(past, 1), []) // keys beyond P + i are masked
  return trilu(filled, { upper: true, k: offset })
}

/** The causal mask over the S positions of rows [B, S] with nothing cached: [S, S]. */
function rowsCausalBias(rows: Tensor): Tensor {
  const length = shape(rows, 1, 2) // [S]
  const S = rows.shape?.[1] ?? null
  return causalBias(rows.graph.int64s([0]), length, length, [S, S])
}

/**
 * Added to masked scores. Finite, so a fully masked row would give a uniform softmax, not NaN;
 * exp() of it underflows to exactly 0 in float32.
 */
const MASKED = -1e9

interface ModelParts {
  config: ModelConfig
  param: ParamProvider
  linear: LinearHook
}

/**
 * Rotary tables [S, D] broadcast as they are; per-row tables [B, S, D] get size-1 axes for the
 * head axes in between (`headAxes` = 2 for queries [B, K, n, S, D], 1 for keys [B, K, S, D]).
 */
function rotaryFor(table: Tensor, headAxes: number): Tensor {
  if (table.rank === 2) return table
  return unsqueeze(table, headAxes === 2 ? [1, 2] : [1])
}

function plainLinear(_name: string, x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  return denseLinear(x, weight, bias ?? undefined)
}

function projection(
  model: ModelParts,
  name: string,
  x: Tensor,
  out: number,
  inFeatures: number,
  bias: boolean
) {
  const weight = model.param(`${name}.weight`, [out, inFeatures], x)
  const b = bias ? model.param(`${name}.bias`, [out]) : null
  return model.linear(name, x, weight, b)
}

function decoderLayer(
  model: ModelParts,
  index: number,
  x: Tensor,
  rotary: RotaryTables,
  bias: Tensor,
  past: LayerKeyValues | undefined
): { x: Tensor; keyValues: LayerKeyValues } {
  const { config, param } = model
  const prefix = layerPrefix(index)
  const E = config.hiddenSize
  const eps = config.rmsNormEps
  const normed = rmsNorm(x, param(`${prefix}.input_layernorm.weight`, [E]), eps)
  const attention = selfAttention(model, prefix, normed, rotary, bias, past)
  const h = add(x, attention.out) // (B, S, E)
  const normed2 = rmsNorm(h, param(`${prefix}.post_attention_layernorm.weight`, [E]), eps)
  return { x: add(h, mlp(model, `${prefix}.mlp`, normed2)), keyValues: attention.keyValues }
}

function mlp(model: ModelParts, prefix: string, x: Tensor): Tensor {
  const { hiddenSize: E, intermediateSize: I, mlpBias } = model.config
  const gate = projection(model, `${prefix}.gate_proj`, x, I, E, mlpBias) // (B, S, I)
  const up = projection(model, `${prefix}.up_proj`, x, I, E, mlpBias)
  const activated = mul(silu(gate), up)
  return projection(model, `${prefix}.down_proj`, activated, E, I, mlpBias) // (B, S, E)
}

/**
 * The attention sublayer: q/k/v projections, per-head RMSNorm (Qwen3), RoPE, the cache, and
 * o_proj. Queries are grouped by the key/value head they share (see groupedQueryAttention).
 */
function selfAttention(
  model: ModelParts,
  prefix: string,
  x: Tensor,
  rotary: RotaryTables,
  bias: Tensor,
  past: LayerKeyValues | undefined
): { out: Tensor; keyValues: LayerKeyValues } {
  const { config } = model
  const { numHeads: H, numKvHeads: K, headDim: D, hiddenSize: E } = config
  const n = H / K
  const attn = `${prefix}.self_attn`
  const q = projection(model, `${attn}.q_proj`, x, H * D, E, config.attentionBias) // (B, S, H·D)
  const k = projection(model, `${attn}.k_proj`, x, K * D, E, config.attentionBias) // (B, S, K·D)
  const v = projection(model, `${attn}.v_proj`, x, K * D, E, config.attentionBias)

  let queries = transpose(reshape(q, [0, 0, K, n, D]), [0, 2, 3, 1, 4]) // (B, K, n, S, D)
  let keys = transpose(reshape(k, [0, 0, K, D]), [0, 2, 1, 3]) // (B, K, S, D)
  let values = transpose(reshape(v, [0, 0, K, D]), [0, 2, 1, 3]) // (B, K, S, D)
  if (config.qkNorm) {
    queries = rmsNorm(queries, model.param(`${attn}.q_norm.weight`, [D]), config.rmsNormEps)
    keys = rmsNorm(keys, model.param(`${attn}.k_norm.weight`, [D]), config.rmsNormEps)
  }
  queries = applyRotary(queries, rotaryFor(rotary.cos, 2), rotaryFor(rotary.sin, 2))
  keys = applyRotary(keys, rotaryFor(rotary.cos, 1), rotaryFor(rotary.sin, 1))
  if (past) {
    keys = concat([past.key, keys], 2) // (B, K, T, D)
    values = concat([past.value, values], 2)
  }
  const context = groupedQueryAttention(queries, keys, values, bias) // (B, K, n, S, D)
  const merged = reshape(transpose(context, [0, 3, 1, 2, 4]), [0, 0, H * D]) // (B, S, H·D)
  const out = projection(model, `${attn}.o_proj`, merged, E, H * D, config.attentionOutputBias)
  return { out, keyValues: { key: keys, value: values } }
}

/**
 * The same decoder as llama.ts for inference only, on onnxruntime's fused contrib ops
 * (com.microsoft): one GroupQueryAttention node per layer (RoPE, cache append, causal softmax
 * attention), SkipSimplifiedLayerNormalization for residual add + RMSNorm, and q/k/v and gate/up
 * projections packed into one matmul each. A decode step then runs about 12 nodes per layer
 * instead of about 65, which matters as much as the arithmetic when one token is computed at a time.
 *
 * These ops have no gradient rules: training builds on decoderForward. Packing and transposing
 * weights happens in the graph (Concat, Transpose of initializers), which onnxruntime folds into
 * new constants when the session loads, so the weights file stays in the checkpoint's layout.
 *
 * Assumes what the inference graphs need: batches are right-padded (or unpadded), and positions
 * continue from the cache (past + 0 … S−1 on every row).
 */
import type { ModelConfig } from '../checkpoint/hf-config'
import { layerPrefix } from '../checkpoint/hf-layout'
import {
  attr,
  cast,
  concat,
  cos,
  gather,
  mul,
  range,
  reshape,
  sin,
  split,
  sub,
  type Tensor
} from '../graph/index'
import { matmulTransposed, silu } from './blocks'
import type { DecoderOutputs, LayerKeyValues, ParamProvider } from './llama'
import { rotaryAngles } from './rope'

const CONTRIB = 'com.microsoft'

/** onnxruntime's CPU GroupQueryAttention takes head dims that are multiples of 16 (64 and 128 in practice). */
export function supportsFusedDecoder(config: ModelConfig): boolean {
  return config.headDim % 16 === 0
}

export interface FusedDecoderInputs {
  /** int64 [B, S]. */
  inputIds: Tensor
  /** int64 [B]: real keys per row after this run (cached + new, padding excluded). */
  keyLengths: Tensor
  /** int64 [1]: positions after this run, P + S (the longest row's). */
  totalLength: Tensor
  /** The cache of earlier positions, [B, K, P, D] per layer (the same P on every row). */
  past?: readonly LayerKeyValues[]
}

/** decoderForward on fused contrib ops; same weights, same outputs (within float32 rounding). */
export function fusedDecoderForward(
  config: ModelConfig,
  param: ParamProvider,
  inputs: FusedDecoderInputs
): DecoderOutputs {
  if (!supportsFusedDecoder(config)) {
    throw new Error(
      `fusedDecoderForward: head dim ${config.headDim} is not a multiple of 16; use decoderForward`
    )
  }
  const g = inputs.inputIds.graph
  const { hiddenSize: E, rmsNormEps: eps } = config
  const embed = param('model.embed_tokens.weight', [config.vocabSize, E])
  const x = gather(embed, inputs.inputIds) // (B, S, E)
  const attention = attentionContext(config, inputs)
  let residual = x
  let normed = fusedRmsNorm(x, param(`${layerPrefix(0)}.input_layernorm.weight`, [E]), eps)
  const present: LayerKeyValues[] = []
  for (let i = 0; i < config.numLayers; i++) {
    const prefix = layerPrefix(i)
    const layer = g.scope(`layers.${i}`, () => {
      const attn = selfAttention(config, param, prefix, normed, attention, inputs.past?.[i])
      const afterAttention = skipRmsNorm(
        attn.out,
        residual,
        param(`${prefix}.post_attention_layernorm.weight`, [E]),
        eps
      )
      const out = mlp(config, param, `${prefix}.mlp`, afterAttention.normed)
      const nextNorm =
        i + 1 < config.numLayers ? `${layerPrefix(i + 1)}.input_layernorm.weight` : 'model.norm.weight'
      const next = skipRmsNorm(out, afterAttention.sum, param(nextNorm, [E]), eps)
      return { next, keyValues: attn.keyValues }
    })
    present.push(layer.keyValues)
    residual = layer.next.sum
    normed = layer.next.normed
  }
  return { hidden: normed, present }
}

interface AttentionContext {
  /** int32 [B]: index of each row's last real key (GroupQueryAttention's seqlens_k). */
  lastKey: Tensor
  /** int32 scalar: keys after this run, P + S. */
  totalLength: Tensor
  /** cos/sin of position·frequency for positions 0 … P+S−1, [P+S, D/2]. */
  cosCache: Tensor
  sinCache: Tensor
}

function attentionContext(config: ModelConfig, inputs: FusedDecoderInputs): AttentionContext {
  const total = inputs.totalLength // [T]
  const angles = rotaryAngles(config, range(0, reshape(total, []), 1, 'int64'), 'float32') // (T, D/2)
  return {
    lastKey: cast(sub(inputs.keyLengths, 1), 'int32'),
    totalLength: cast(reshape(total, []), 'int32'),
    cosCache: cos(angles),
    sinCache: sin(angles)
  }
}

/** Projections sharing an input, packed into one: W = [W₁; W₂; …] (out dims stacked), biases alike. */
function packedProjection(
  param: ParamProvider,
  x: Tensor,
  names: readonly string[],
  outs: readonly number[],
  inFeatures: number,
  bias: boolean
): Tensor {
  const weights = names.map((name, i) => param(`${name}.weight`, [outs[i], inFeatures]))
  const biases = bias ? names.map((name, i) => param(`${name}.bias`, [outs[i]])) : null
  return matmulTransposed(x, concat(weights, 0), biases ? concat(biases, 0) : null)
}

function selfAttention(
  config: ModelConfig,
  param: ParamProvider,
  prefix: string,
  x: Tensor,
  context: AttentionContext,
  past: LayerKeyValues | undefined
): { out: Tensor; keyValues: LayerKeyValues } {
  const { numHeads: H, numKvHeads: K, headDim: D, hiddenSize: E } = config
  const attn = `${prefix}.self_attn`
  const names = ['q_proj', 'k_proj', 'v_proj'].map((p) => `${attn}.${p}`)
  const qkv = packedProjection(param, x, names, [H * D, K * D, K * D], E, config.attentionBias) // (B, S, (H+2K)·D)
  let query: Tensor[]
  if (config.qkNorm) {
    // RMSNorm over each head's dims before RoPE: separate q, k, v into the op
    const [q, k, v] = split(qkv, [H * D, K * D, K * D], -1)
    const headNorm = (t: Tensor, heads: number, name: string): Tensor =>
      reshape(
        fusedRmsNorm(reshape(t, [0, 0, heads, D]), param(`${attn}.${name}.weight`, [D]), config.rmsNormEps),
        [0, 0, heads * D]
      )
    query = [headNorm(q, H, 'q_norm'), headNorm(k, K, 'k_norm'), v]
  } else {
    query = [qkv] // packed q/k/v
  }
  const none = null
  const inputs = [
    ...query,
    ...(query.length === 1 ? [none, none] : []),
    past?.key ?? none,
    past?.value ?? none,
    context.lastKey,
    context.totalLength,
    context.cosCache,
    context.sinCache
  ]
  const [out, key, value] = x.graph.node({
    opType: 'GroupQueryAttention',
    domain: CONTRIB,
    inputs,
    attrs: {
      num_heads: attr.int(H),
      kv_num_heads: attr.int(K),
      do_rotary: attr.int(1),
      rotary_interleaved: attr.int(0),
      scale: attr.float(1 / Math.sqrt(D))
    },
    outputs: [
      { dtype: 'float32', shape: [x.shape![0], x.shape![1], H * D] },
      { dtype: 'float32', shape: [x.shape![0], K, null, D] },
      { dtype: 'float32', shape: [x.shape![0], K, null, D] }
    ]
  })
  const o = param(`${attn}.o_proj.weight`, [E, H * D])
  const oBias = config.attentionOutputBias ? param(`${attn}.o_proj.bias`, [E]) : null
  return { out: matmulTransposed(out, o, oBias), keyValues: { key, value } }
}

function mlp(config: ModelConfig, param: ParamProvider, prefix: string, x: Tensor): Tensor {
  const { hiddenSize: E, intermediateSize: I, mlpBias } = config
  const gateUp = packedProjection(param, x, [`${prefix}.gate_proj`, `${prefix}.up_proj`], [I, I], E, mlpBias) // (B, S, 2I)
  const [gate, up] = split(gateUp, [I, I], -1)
  const activated = mul(silu(gate), up)
  const down = param(`${prefix}.down_proj.weight`, [E, I])
  return matmulTransposed(activated, down, mlpBias ? param(`${prefix}.down_proj.bias`, [E]) : null)
}

/** RMSNorm over the last axis, as onnxruntime's kernel (blocks.ts's rmsNorm is its standard-op form). */
function fusedRmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  return x.graph.node1({
    opType: 'SimplifiedLayerNormalization',
    inputs: [x, weight],
    attrs: { axis: attr.int(-1), epsilon: attr.float(eps), stash_type: attr.int(1) },
    outputs: [{ dtype: 'float32', shape: x.shape }]
  })
}

/** RMSNorm(x + skip) and x + skip, in one kernel. */
function skipRmsNorm(x: Tensor, skip: Tensor, weight: Tensor, eps: number): { normed: Tensor; sum: Tensor } {
  const [normed, , , sum] = x.graph.node({
    opType: 'SkipSimplifiedLayerNormalization',
    domain: CONTRIB,
    inputs: [x, skip, weight],
    attrs: { epsilon: attr.float(eps) },
    outputs: [
      { dtype: 'float32', shape: x.shape },
      { dtype: 'float32', shape: null },
      { dtype: 'float32', shape: null },
      { dtype: 'float32', shape: x.shape }
    ]
  })
  return { normed, sum }
}

/**
 * Network pieces built from primitive ops. They need no gradient code: autodiff differentiates
 * the ops they are made of.
 */
import type { DType } from '../onnx/dtype'
import {
  add,
  cast,
  cos,
  concat,
  constantOfShape,
  div,
  equal,
  expand,
  gatherElements,
  gemm,
  logSoftmax,
  matmul,
  max,
  mul,
  neg,
  not,
  reciprocal,
  reduceMean,
  reduceSum,
  reshape,
  shape,
  sigmoid,
  sin,
  slice,
  SLICE_TO_END,
  softmax,
  sqrt,
  squeeze,
  sub,
  transpose,
  trilu,
  unsqueeze,
  where
} from './ops/index'
import { normalizeAxis } from './shape'
import type { Tensor } from './tensor'

/**
 * x·Wᵀ (+ bias) for x [..., in] and a weight in the HF/PyTorch layout W [out, in]. A constant
 * weight (initializer) goes through a Gemm over flattened rows that reads W transposed in
 * place: a Transpose of a constant would be folded by onnxruntime into a second copy of the
 * weight. A weight fed at run time (trainable) is simply transposed.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  const [outFeatures, inFeatures] = weight.shape ?? []
  if (weight.rank !== 2 || typeof outFeatures !== 'number' || typeof inFeatures !== 'number') {
    throw new Error(`linear: weight ${weight} must be 2-D with static dims`)
  }
  const rank = x.rank
  if (rank === null || rank < 1) throw new Error(`linear: ${x} needs a known rank ≥ 1`)
  if (weight.kind === 'input' || weight.kind === 'node') {
    const y = matmul(x, transpose(weight, [1, 0])) // (..., out)
    return bias ? add(y, bias) : y
  }
  if (rank === 2) return gemm(x, weight, bias ?? null, { transB: true })
  const rows = reshape(x, [-1, inFeatures]) // (rows, in)
  const y = gemm(rows, weight, bias ?? null, { transB: true }) // (rows, out)
  const outShape = concat([shape(x, 0, -1), x.graph.int64s([outFeatures])], 0)
  return reshape(y, outShape, [...x.shape!.slice(0, -1), outFeatures]) // (..., out)
}

/** x / √(mean(x², last axis) + eps) · weight (Llama's RMSNorm). */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  const meanSquare = reduceMean(mul(x, x), [-1], { keepDims: true })
  return mul(mul(x, reciprocal(sqrt(add(meanSquare, eps)))), weight)
}

/** x·σ(x) (SiLU / swish). */
export function silu(x: Tensor): Tensor {
  return mul(x, sigmoid(x))
}

/**
 * A large negative number added to masked attention scores: exp() of it is 0, and unlike
 * -Infinity a fully masked row gives a uniform softmax instead of NaN.
 */
export function maskValue(dtype: DType): number {
  return dtype === 'float16' ? -65504 : -1e9
}

/**
 * Additive causal mask [S, S] for the length S of `like` along `axis` (e.g. input_ids [batch, seq]
 * and axis 1): 0 where key ≤ query, maskValue above the diagonal. Its shape carries `like`'s dim,
 * so it broadcasts against scores [batch, heads, S, S] without run-time shape checks.
 */
export function causalMask(like: Tensor, axis: number, dtype: DType): Tensor {
  const rank = like.rank
  if (rank === null) throw new Error(`causalMask: ${like} needs a known rank`)
  const a = normalizeAxis(axis, rank, 'causalMask')
  const length = like.shape![a]
  const side = typeof length === 'number' ? like.graph.int64s([length]) : shape(like, a, a + 1)
  const filled = constantOfShape(concat([side, side], 0), maskValue(dtype), dtype, [length, length]) // (S, S)
  return trilu(filled, { upper: true, k: 1 }) // keeps maskValue strictly above the diagonal
}

/**
 * Additive key-padding mask [batch, 1, 1, seq] from an attention mask [batch, seq] of 1 (keep) /
 * 0 (pad), broadcastable against scores [batch, heads, seq, seq].
 */
export function paddingMask(attentionMask: Tensor, dtype: DType): Tensor {
  const keep = cast(attentionMask, dtype) // (B, S)
  return unsqueeze(mul(sub(1, keep), maskValue(dtype)), [1, 2]) // (B, 1, 1, S)
}

export interface AttentionOptions {
  /** Additive mask broadcastable to the scores [batch, heads, q, k]. */
  mask?: Tensor
  /** Score scale; default 1/√headDim (needs a static head dim). */
  scale?: number
}

/** softmax(q·kᵀ·scale + mask)·v for q [B, H, S, D], k and v [B, H, T, D]. */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const headDim = q.shape?.[q.shape.length - 1]
  const scale = options.scale ?? (typeof headDim === 'number' ? 1 / Math.sqrt(headDim) : null)
  if (scale === null) throw new Error(`attention: pass options.scale, the head dim of ${q} is not static`)
  let scores = mul(matmul(q, transpose(k, [0, 1, 3, 2])), scale) // (B, H, S, T)
  if (options.mask) scores = add(scores, options.mask)
  return matmul(softmax(scores, -1), v) // (B, H, S, D)
}

/** Repeats key/value heads for grouped-query attention: [B, KV, S, D] → [B, KV·n, S, D]. */
export function repeatKvHeads(x: Tensor, n: number): Tensor {
  if (n === 1) return x
  const [, kvHeads, , headDim] = x.shape ?? []
  if (typeof kvHeads !== 'number' || typeof headDim !== 'number') {
    throw new Error(`repeatKvHeads: ${x} needs static head count and head dim`)
  }
  const spread = expand(unsqueeze(x, [2]), [1, 1, n, 1, 1]) // (B, KV, n, S, D)
  return reshape(spread, [0, kvHeads * n, -1, headDim]) // (B, KV·n, S, D)
}

/** RoPE inverse frequencies θ^(-2i/d), i < d/2 (models with RoPE scaling pass their own). */
export function ropeInverseFrequencies(headDim: number, theta: number): number[] {
  return Array.from({ length: headDim / 2 }, (_, i) => 1 / theta ** ((2 * i) / headDim))
}

/**
 * cos/sin tables for rotary embeddings from positions [..., S] (int64 or float): each [..., S, D]
 * with the frequencies repeated over both halves (the HF Llama layout).
 */
export function rotaryTables(
  positions: Tensor,
  invFreq: readonly number[],
  dtype: DType
): { cos: Tensor; sin: Tensor } {
  const g = positions.graph
  const freqs = g.constant(dtype, [invFreq.length], invFreq)
  const angles = mul(unsqueeze(cast(positions, dtype), [-1]), freqs) // (..., S, D/2)
  const both = concat([angles, angles], -1) // (..., S, D)
  return { cos: cos(both), sin: sin(both) }
}

/** x·cos + rotate_half(x)·sin, rotate_half(x) = [−x₂, x₁] over the halves of the last axis. */
export function applyRotary(x: Tensor, cosTable: Tensor, sinTable: Tensor): Tensor {
  const headDim = x.shape?.[x.shape.length - 1]
  if (typeof headDim !== 'number') throw new Error(`applyRotary: ${x} needs a static head dim`)
  const half = headDim / 2
  const first = slice(x, [0], [half], [-1])
  const second = slice(x, [half], [SLICE_TO_END], [-1])
  const rotated = concat([neg(second), first], -1)
  return add(mul(x, cosTable), mul(rotated, sinTable))
}

export interface CrossEntropyResult {
  /** Mean negative log-likelihood over the counted tokens (0 when none is counted). */
  loss: Tensor
  /** Per-token negative log-likelihood [N], 0 at ignored tokens. */
  perToken: Tensor
  /** 1 for counted tokens, 0 for ignored ones [N]. */
  counted: Tensor
}

/**
 * Cross-entropy of logits [N, V] against int64 labels [N], as LogSoftmax + GatherElements;
 * labels equal to `ignoreIndex` (default -100, the HF convention) do not count.
 */
export function crossEntropy(logits: Tensor, labels: Tensor, ignoreIndex = -100): CrossEntropyResult {
  const dtype = logits.dtype
  const ignored = equal(labels, ignoreIndex) // (N)
  const safeLabels = where(ignored, 0, labels) // (N) a valid index where ignored
  const logProbs = logSoftmax(logits, -1) // (N, V)
  const picked = squeeze(gatherElements(logProbs, unsqueeze(safeLabels, [1]), 1), [1]) // (N)
  const counted = cast(not(ignored), dtype) // (N)
  const perToken = mul(neg(picked), counted)
  const loss = div(
    reduceSum(perToken, undefined, { keepDims: false }),
    max(reduceSum(counted, undefined, { keepDims: false }), 1)
  )
  return { loss, perToken, counted }
}

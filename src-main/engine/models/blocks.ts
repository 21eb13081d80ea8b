/**
 * The decoder's building blocks on standard ONNX ops: projections, RMSNorm, SiLU and grouped-query
 * attention (rotary embeddings are in rope.ts). The standard-op decoder (llama.ts) is built from
 * them, the fused decoder (fused.ts) from the ones its contrib ops leave, and the tests check them
 * against finite differences. They need no gradient code: autodiff differentiates the ops they are
 * made of. Each keeps the op order onnxruntime's graph optimizer recognises, where it has a fusion.
 */
import {
  add,
  div,
  gemmOverRows,
  matmul,
  mul,
  pow,
  reduceMean,
  sigmoid,
  softmax,
  sqrt,
  transpose,
  unsqueeze,
  type Tensor
} from '../graph/index'

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
  if (weight.kind === 'input' || weight.kind === 'node') return matmulTransposed(x, weight, bias)
  return gemmOverRows(x, weight, bias ?? null)
}

/** x·Wᵀ (+ bias) as a MatMul against Transpose(W), W [out, in]. */
export function matmulTransposed(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const y = matmul(x, transpose(weight, [1, 0])) // (..., out)
  return bias ? add(y, bias) : y
}

/**
 * x / √(mean(x², last axis) + eps) · weight (Llama's RMSNorm), written as
 * Pow → ReduceMean → Add → Sqrt → Div → Mul: the pattern onnxruntime fuses into one
 * SimplifiedLayerNormalization kernel.
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  const meanSquare = reduceMean(pow(x, 2), [-1], { keepDims: true })
  return mul(div(x, sqrt(add(meanSquare, eps))), weight)
}

/** x·σ(x) (SiLU / swish), the Mul(x, Sigmoid(x)) onnxruntime fuses. */
export function silu(x: Tensor): Tensor {
  return mul(x, sigmoid(x))
}

/**
 * softmax(q·kᵀ/√D + bias)·v with queries grouped by the key/value head they share: queries
 * [B, K, n, S, D], keys and values [B, K, T, D], bias broadcastable to [B, K, n, S, T]. Keys and
 * values get a size-1 group axis that MatMul broadcasts over the n query heads, instead of being
 * repeated n times. Returns [B, K, n, S, D].
 */
export function groupedQueryAttention(queries: Tensor, keys: Tensor, values: Tensor, bias: Tensor): Tensor {
  const headDim = queries.shape?.[queries.shape.length - 1]
  if (queries.rank !== 5 || typeof headDim !== 'number') {
    throw new Error(`groupedQueryAttention: queries ${queries} must be [B, K, n, S, D] with a static D`)
  }
  const keysT = unsqueeze(transpose(keys, [0, 1, 3, 2]), [2]) // (B, K, 1, D, T)
  const scores = mul(matmul(queries, keysT), 1 / Math.sqrt(headDim)) // (B, K, n, S, T)
  const probs = softmax(add(scores, bias), -1)
  return matmul(probs, unsqueeze(values, [2])) // (B, K, n, S, D)
}

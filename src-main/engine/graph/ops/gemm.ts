import { attr } from '../attrs'
import type { Dim } from '../shape'
import type { Tensor } from '../tensor'
import { graphOf, requireRank } from './common'

export interface GemmOptions {
  transA?: boolean
  transB?: boolean
  alpha?: number
  beta?: number
}

/**
 * alpha·A'·B' + beta·C for 2-D A and B (A' = Aᵀ when transA, likewise B'), C broadcast to the
 * result. Transposed operands are read in place: unlike Transpose + MatMul, a constant weight
 * is never materialized transposed when onnxruntime folds constants.
 */
export function gemm(a: Tensor, b: Tensor, c: Tensor | null = null, options: GemmOptions = {}): Tensor {
  const g = graphOf('Gemm', a, b, c)
  if (requireRank(a, 'Gemm') !== 2 || requireRank(b, 'Gemm') !== 2)
    throw new Error(`Gemm: needs 2-D A and B, got ${a}, ${b}`)
  if (a.dtype !== b.dtype || (c && c.dtype !== a.dtype))
    throw new Error(`Gemm: dtype mismatch, ${a}, ${b}, ${c}`)
  const attrs: Record<string, ReturnType<typeof attr.int>> = {}
  if (options.transA) attrs.transA = attr.int(1)
  if (options.transB) attrs.transB = attr.int(1)
  if (options.alpha !== undefined && options.alpha !== 1) attrs.alpha = attr.float(options.alpha)
  if (options.beta !== undefined && options.beta !== 1) attrs.beta = attr.float(options.beta)
  const m: Dim = a.shape![options.transA ? 1 : 0]
  const n: Dim = b.shape![options.transB ? 0 : 1]
  return g.node1({
    opType: 'Gemm',
    inputs: c ? [a, b, c] : [a, b],
    attrs,
    outputs: [{ dtype: a.dtype, shape: [m, n] }]
  })
}

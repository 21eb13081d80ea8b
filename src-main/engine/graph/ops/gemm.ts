import { attr, intAttr } from '../attrs'
import { sumToShapeOf } from '../grad_helpers'
import { defineOp } from '../registry'
import type { Dim } from '../shape'
import type { GraphNode, Tensor } from '../tensor'
import { graphOf, requireRank } from './common'
import { mul } from './mul'

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

function floatAttr(node: GraphNode, name: string): number {
  const value = node.attrs[name]
  return value?.kind === 'float' ? value.value : 1
}

// With A' = op(A), B' = op(B): dA' = α·g·B'ᵀ and dB' = α·A'ᵀ·g, each written as one Gemm whose
// trans flags absorb every transpose (including the one that turns dA' back into dA).
export const Gemm = defineOp({
  opType: 'Gemm',
  gradient: ({ node, inputs: [a, b, c], grad }) => {
    const transA = intAttr(node, 'transA', 0) === 1
    const transB = intAttr(node, 'transB', 0) === 1
    const alpha = floatAttr(node, 'alpha')
    const beta = floatAttr(node, 'beta')
    return [
      () =>
        transA
          ? gemm(b!, grad, null, { transA: transB, transB: true, alpha }) // dA = α·B'·gᵀ
          : gemm(grad, b!, null, { transB: !transB, alpha }), // dA = α·g·B'ᵀ
      () =>
        transB
          ? gemm(grad, a!, null, { transA: true, transB: transA, alpha }) // dB = α·gᵀ·A'
          : gemm(a!, grad, null, { transA: !transA, alpha }), // dB = α·A'ᵀ·g
      c ? () => sumToShapeOf(beta === 1 ? grad : mul(grad, beta), c) : null
    ]
  }
})

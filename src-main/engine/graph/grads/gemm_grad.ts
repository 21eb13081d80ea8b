import { intAttr } from '../attrs'
import { gemm } from '../ops/gemm'
import { mul } from '../ops/mul'
import { defineOp } from '../registry'
import type { GraphNode } from '../tensor'
import { sumToShapeOf } from './helpers'

function floatAttr(node: GraphNode, name: string): number {
  const value = node.attrs[name]
  return value?.kind === 'float' ? value.value : 1
}

// With A' = op(A), B' = op(B): dA' = α·g·B'ᵀ and dB' = α·A'ᵀ·g, each written as one Gemm whose
// trans flags absorb every transpose (including the one that turns dA' back into dA).
export const gemmGrad = defineOp({
  opType: 'Gemm',
  gradient: ({ node, inputs: [a, b, c], grad }) => {
    const transA = intAttr(node, 'transA', 0) === 1
    const transB = intAttr(node, 'transB', 0) === 1
    const alpha = floatAttr(node, 'alpha')
    const beta = floatAttr(node, 'beta')
    const matrixGradients = [
      () =>
        transA
          ? gemm(b!, grad, null, { transA: transB, transB: true, alpha }) // dA = α·B'·gᵀ
          : gemm(grad, b!, null, { transB: !transB, alpha }), // dA = α·g·B'ᵀ
      () =>
        transB
          ? gemm(grad, a!, null, { transA: true, transB: transA, alpha }) // dB = α·gᵀ·A'
          : gemm(a!, grad, null, { transA: !transA, alpha }) // dB = α·A'ᵀ·g
    ]
    // C is optional: the node has it as a third input only when it was given.
    return c
      ? [...matrixGradients, () => sumToShapeOf(beta === 1 ? grad : mul(grad, beta), c)]
      : matrixGradients
  }
})

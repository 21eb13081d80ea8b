/**
 * onnxruntime-specific lowering, run on a graph after autodiff: a matrix product with a transposed
 * 2-D operand becomes a Gemm that reads that operand transposed in place.
 *
 * Gradient rules state the maths (MatMul against a Transpose). Run as written, onnxruntime's
 * constant folding turns the Transpose of a constant weight into a second, transposed copy of the
 * weight, and a Transpose of an activation is a copy; Gemm's trans flags need neither. Two
 * patterns are rewritten, for float matrices (the products autodiff builds):
 *
 *   MatMul(Transpose(X), Y), X and Y 2-D         → Gemm(X, Y, transA)        e.g. db = aᵀ·g over rows
 *   MatMul(G, Transpose(W)), W a constant 2-D    → Gemm(rows of G, W, transB), back to G's leading axes
 *
 * A MatMul against the transpose of a weight fed at run time keeps its Transpose: that copy is
 * made once per step, of the weight alone. The rewritten MatMul's output tensor stays (its handle,
 * name and uses); a Transpose nothing reads any more is removed.
 */
import { isFloatDType } from '../../onnx/dtype'
import { intsAttr } from '../attrs'
import type { GraphBuilder } from '../builder'
import { concat } from '../ops/concat'
import { gemm } from '../ops/gemm'
import { reshape } from '../ops/reshape'
import { shape } from '../ops/shape_ops'
import type { Tensor } from '../tensor'

export function fuseTransposesIntoGemm(g: GraphBuilder): void {
  for (const node of [...g.nodes]) {
    if (node.opType !== 'MatMul' || !isFloatDType(node.outputs[0].dtype)) continue
    const [a, b] = node.inputs as readonly Tensor[]
    const aTransposed = transposedMatrix(a)
    if (aTransposed && b.rank === 2) {
      g.replaceNode(node, () => gemm(aTransposed, b, null, { transA: true }))
      g.removeIfUnread(a.producer!)
      continue
    }
    const weight = transposedMatrix(b)
    if (weight && (weight.kind === 'initializer' || weight.kind === 'constant') && (a.rank ?? 0) >= 2) {
      g.replaceNode(node, () => gemmOverRows(a, weight))
      g.removeIfUnread(b.producer!)
    }
  }
}

/** X when t = Xᵀ, a Transpose swapping the two axes of a matrix X; else null. */
function transposedMatrix(t: Tensor): Tensor | null {
  const node = t.producer
  if (node?.opType !== 'Transpose' || node.inputs[0]!.rank !== 2) return null
  const perm = intsAttr(node, 'perm')
  return perm === undefined || perm[0] === 1 ? node.inputs[0] : null
}

/**
 * x [..., in] · Wᵀ (+ bias) for a weight W [out, in] of static dims: one Gemm over x's rows that
 * reads W transposed in place, reshaped back to [..., out]. x needs a known rank.
 */
export function gemmOverRows(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  const [outFeatures, inFeatures] = weight.shape as number[]
  if (x.rank === 2) return gemm(x, weight, bias, { transB: true })
  const rows = reshape(x, [-1, inFeatures]) // (rows, in)
  const y = gemm(rows, weight, bias, { transB: true }) // (rows, out)
  const outShape = concat([shape(x, 0, -1), x.graph.int64s([outFeatures])], 0)
  return reshape(y, outShape, [...x.shape!.slice(0, -1), outFeatures]) // (..., out)
}

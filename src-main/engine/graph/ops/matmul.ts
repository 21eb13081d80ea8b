import { reshapeLike, sumToShapeOf } from '../grad_helpers'
import { defineOp, type InputGradient } from '../registry'
import { broadcastShapes, formatShape, type Dim, type Shape } from '../shape'
import type { Tensor } from '../tensor'
import { graphOf, once, requireRank } from './common'
import { concat } from './concat'
import { gemm } from './gemm'
import { reshape } from './reshape'
import { shape } from './shape_ops'
import { transpose } from './transpose'
import { unsqueeze } from './unsqueeze'

/** Matrix product with numpy semantics: batched over leading axes, which broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const g = graphOf('MatMul', a, b)
  if (a.dtype !== b.dtype) throw new Error(`MatMul: dtype mismatch, ${a} vs ${b}`)
  return g.node1({
    opType: 'MatMul',
    inputs: [a, b],
    outputs: [{ dtype: a.dtype, shape: matmulShape(a, b) }]
  })
}

function matmulShape(a: Tensor, b: Tensor): Shape | null {
  if (a.shape === null || b.shape === null) return null
  if (a.shape.length === 0 || b.shape.length === 0) throw new Error(`MatMul: scalar operand in ${a} @ ${b}`)
  const as: Dim[] = a.shape.length === 1 ? [1, a.shape[0]] : [...a.shape]
  const bs: Dim[] = b.shape.length === 1 ? [b.shape[0], 1] : [...b.shape]
  const k1 = as[as.length - 1]
  const k2 = bs[bs.length - 2]
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) {
    throw new Error(`MatMul: inner dims differ, ${formatShape(a.shape)} @ ${formatShape(b.shape)}`)
  }
  const batch = broadcastShapes('MatMul', as.slice(0, -2), bs.slice(0, -2))!
  const out: Dim[] = [...batch]
  if (a.shape.length > 1) out.push(as[as.length - 2])
  if (b.shape.length > 1) out.push(bs[bs.length - 1])
  return out
}

/** Swaps the last two axes. */
function transposeLastTwo(x: Tensor): Tensor {
  const rank = requireRank(x, 'MatMul gradient')
  const perm = Array.from({ length: rank }, (_, i) => i)
  ;[perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]]
  return transpose(x, perm)
}

// y = a @ b: da = g @ bᵀ, db = aᵀ @ g, each summed over the batch axes it was broadcast along.
// A 2-D b (a weight) takes weightGradients: its gradient is one GEMM over all rows, and a
// constant b is never transposed — onnxruntime would fold that Transpose into a second,
// transposed copy of the weight.
// 1-D operands are first lifted to matrices exactly as MatMul lifts them.
export const MatMul = defineOp({
  opType: 'MatMul',
  gradient: ({ inputs: [a, b], grad }) => {
    if (a!.rank !== null && a!.rank >= 2 && b!.rank === 2) return weightGradients(a!, b!, grad)
    const lift = once(() => liftToMatrices(a!, b!, grad))
    return [
      () => {
        const { a2, b2, g2 } = lift()
        const da = sumToShapeOf(matmul(g2, transposeLastTwo(b2)), a2)
        return a2 === a ? da : reshapeLike(da, a!)
      },
      () => {
        const { a2, b2, g2 } = lift()
        const db = sumToShapeOf(matmul(transposeLastTwo(a2), g2), b2)
        return b2 === b ? db : reshapeLike(db, b!)
      }
    ]
  }
})

/**
 * a [..., M, K] @ b [K, N]: db = Σ_rows aᵀ·g is one Gemm over flattened rows. da = g·bᵀ is a
 * batched MatMul against bᵀ, except for a constant b, which a Gemm reads transposed in place.
 */
function weightGradients(a: Tensor, b: Tensor, grad: Tensor): InputGradient[] {
  const gradRows = once(() => flattenRows(grad, b.shape![1]))
  const constantWeight = b.kind === 'initializer' || b.kind === 'constant'
  return [
    () => {
      if (!constantWeight) return matmul(grad, transposeLastTwo(b)) // (..., M, K)
      const da = gemm(gradRows(), b, null, { transB: true }) // (rows, K)
      return a.rank === 2 ? da : reshapeLike(da, a)
    },
    () => gemm(flattenRows(a, b.shape![0]), gradRows(), null, { transA: true }) // (K, N)
  ]
}

/** x [..., d] as a matrix [rows, d]. */
function flattenRows(x: Tensor, lastDim: Dim): Tensor {
  if (x.rank === 2) return x
  if (typeof lastDim === 'number') return reshape(x, [-1, lastDim])
  return reshape(x, concat([x.graph.int64s([-1]), shape(x, -1)], 0))
}

function liftToMatrices(a: Tensor, b: Tensor, grad: Tensor): { a2: Tensor; b2: Tensor; g2: Tensor } {
  const ra = requireRank(a, 'MatMul gradient')
  const rb = requireRank(b, 'MatMul gradient')
  if (ra === 1 && rb === 1) {
    return { a2: unsqueeze(a, [0]), b2: unsqueeze(b, [1]), g2: reshape(grad, [1, 1]) }
  }
  if (ra === 1) return { a2: unsqueeze(a, [0]), b2: b, g2: unsqueeze(grad, [-2]) }
  if (rb === 1) return { a2: a, b2: unsqueeze(b, [1]), g2: unsqueeze(grad, [-1]) }
  return { a2: a, b2: b, g2: grad }
}

import { requireRank } from '../ops/common'
import { matmul } from '../ops/matmul'
import { reshape } from '../ops/reshape'
import { transpose } from '../ops/transpose'
import { unsqueeze } from '../ops/unsqueeze'
import { defineOp, type InputGradient } from '../registry'
import type { Tensor } from '../tensor'
import { flattenRows, once, reshapeLike, sumToShapeOf } from './helpers'

// y = a @ b: da = g @ bᵀ, db = aᵀ @ g, each summed over the batch axes it was broadcast along.
// A 2-D b (a weight) takes weightGradients. 1-D operands are first lifted to matrices exactly as
// MatMul lifts them. These are the maths only: passes/gemm.ts, run after autodiff, lets Gemm read
// the transposed operands in place.
export const matmulGrad = defineOp({
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
 * a [..., M, K] @ b [K, N]: da = g·bᵀ, batched over a's leading axes. b is shared by every row of
 * a, so db = Σ_rows aᵀ·g is one product of a and g flattened to rows: no batched product to sum.
 */
function weightGradients(a: Tensor, b: Tensor, grad: Tensor): InputGradient[] {
  return [
    () => matmul(grad, transposeLastTwo(b)), // (..., M, K)
    () => matmul(transposeLastTwo(flattenRows(a, b.shape![0])), flattenRows(grad, b.shape![1])) // (K, N)
  ]
}

/** Swaps the last two axes. */
function transposeLastTwo(x: Tensor): Tensor {
  const rank = requireRank(x, 'MatMul gradient')
  const perm = Array.from({ length: rank }, (_, i) => i)
  ;[perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]]
  return transpose(x, perm)
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

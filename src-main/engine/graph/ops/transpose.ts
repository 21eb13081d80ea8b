import { attr, intsAttr } from '../attrs'
import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { requireRank } from './common'

/** Permutes axes; the default reverses them. */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const order = perm ?? Array.from({ length: requireRank(x, 'Transpose') }, (_, i) => i).reverse()
  if (x.rank !== null && order.length !== x.rank) {
    throw new Error(`Transpose: perm [${order.join(', ')}] does not match the rank of ${x}`)
  }
  return x.graph.node1({
    opType: 'Transpose',
    inputs: [x],
    attrs: { perm: attr.ints(order) },
    outputs: [{ dtype: x.dtype, shape: x.shape ? order.map((i) => x.shape![i]) : null }]
  })
}

// The gradient is transposed back by the inverse permutation.
export const Transpose = defineOp({
  opType: 'Transpose',
  gradient: ({ node, grad }) => [
    () => {
      const perm = intsAttr(node, 'perm')!
      const inverse = new Array<number>(perm.length)
      perm.forEach((p, i) => (inverse[p] = i))
      return transpose(grad, inverse)
    }
  ]
})

import { attr } from '../attrs'
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

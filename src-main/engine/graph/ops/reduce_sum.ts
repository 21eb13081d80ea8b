import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { reduce, unreduce, type ReduceOptions } from './reduce_common'

export function reduceSum(x: Tensor, axes?: readonly number[] | Tensor, options: ReduceOptions = {}): Tensor {
  return reduce('ReduceSum', x, axes, options)
}

// Every summed element receives the gradient of its sum.
export const ReduceSum = defineOp({
  opType: 'ReduceSum',
  gradient: ({ node, inputs: [x, axes], grad }) => [() => unreduce(grad, node, x!, axes ?? null), null]
})

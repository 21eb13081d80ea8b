import { defineOp } from '../registry'
import { staticNumel } from '../shape'
import type { Tensor } from '../tensor'
import { cast } from './cast'
import { div } from './div'
import { reduce, unreduce, type ReduceOptions } from './reduce_common'
import { size } from './shape_ops'

export function reduceMean(x: Tensor, axes?: readonly number[] | Tensor, options: ReduceOptions = {}): Tensor {
  return reduce('ReduceMean', x, axes, options)
}

// Like ReduceSum, divided by the number of elements averaged: numel(x) / numel(y).
export const ReduceMean = defineOp({
  opType: 'ReduceMean',
  gradient: ({ node, inputs: [x, axes], outputs: [y], grad }) => [
    () => {
      const inCount = staticNumel(x!.shape)
      const outCount = staticNumel(y.shape)
      const count =
        inCount !== null && outCount !== null
          ? inCount / Math.max(outCount, 1)
          : div(cast(size(x!), x!.dtype), cast(size(y), x!.dtype))
      return div(unreduce(grad, node, x!, axes ?? null), count)
    },
    null
  ]
})

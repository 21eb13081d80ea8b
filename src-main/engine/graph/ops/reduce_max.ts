import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { cast } from './cast'
import { div } from './div'
import { equal } from './logical'
import { mul } from './mul'
import { reduce, reducedAxes, withReducedAxesKept, type ReduceOptions } from './reduce_common'
import { reduceSum } from './reduce_sum'

export function reduceMax(x: Tensor, axes?: readonly number[] | Tensor, options: ReduceOptions = {}): Tensor {
  return reduce('ReduceMax', x, axes, options)
}

// The gradient goes to the elements equal to the maximum, split evenly between ties
// (PyTorch's amax does the same).
export const ReduceMax = defineOp({
  opType: 'ReduceMax',
  gradient: ({ node, inputs: [x, axes], outputs: [y], grad }) => [
    () => {
      const which = reducedAxes(node, x!, axes ?? null)
      if (which === 'none') return grad
      const isMax = cast(equal(x!, withReducedAxesKept(y, node, which)), x!.dtype)
      const ties = reduceSum(isMax, which === 'all' ? undefined : (axes ?? undefined), { keepDims: true })
      return div(mul(isMax, withReducedAxesKept(grad, node, which)), ties)
    },
    null
  ]
})

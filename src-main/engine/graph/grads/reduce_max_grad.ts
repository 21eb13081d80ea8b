import { cast } from '../ops/cast'
import { div } from '../ops/div'
import { equal } from '../ops/logical'
import { mul } from '../ops/mul'
import { reduceSum } from '../ops/reduce_sum'
import { defineOp } from '../registry'
import { gradientOfFirstInput } from './helpers'
import { reducedAxes, withReducedAxesKept } from './reduce_helpers'

// The gradient goes to the elements equal to the maximum, split evenly between ties
// (PyTorch's amax does the same).
export const reduceMaxGrad = defineOp({
  opType: 'ReduceMax',
  gradient: ({ node, inputs, outputs: [y], grad }) =>
    gradientOfFirstInput(inputs, () => {
      const [x, axes] = inputs
      const which = reducedAxes(node, x!, axes ?? null)
      if (which === 'none') return grad
      const isMax = cast(equal(x!, withReducedAxesKept(y, node, which)), x!.dtype)
      const ties = reduceSum(isMax, which === 'all' ? undefined : (axes ?? undefined), { keepDims: true })
      return div(mul(isMax, withReducedAxesKept(grad, node, which)), ties)
    })
})

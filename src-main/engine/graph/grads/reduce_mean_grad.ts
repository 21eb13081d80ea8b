import { cast } from '../ops/cast'
import { knownValues } from '../ops/common'
import { div } from '../ops/div'
import { size } from '../ops/shape_ops'
import { defineOp } from '../registry'
import { staticNumel } from '../shape'
import type { GraphNode, Tensor } from '../tensor'
import { gradientOfFirstInput } from './helpers'
import { reducedAxes, unreduce } from './reduce_helpers'

// Like ReduceSum, divided by the number of elements averaged: the product of the reduced dims
// when they are static, else numel(x) / numel(y) at run time.
export const reduceMeanGrad = defineOp({
  opType: 'ReduceMean',
  gradient: ({ node, inputs, outputs: [y], grad }) =>
    gradientOfFirstInput(inputs, () => {
      const [x, axes] = inputs
      const count =
        staticCount(node, x!, axes ?? null) ?? div(cast(size(x!), x!.dtype), cast(size(y), x!.dtype))
      return div(unreduce(grad, node, x!, axes ?? null), count)
    })
})

function staticCount(node: GraphNode, x: Tensor, axes: Tensor | null): number | null {
  if (x.shape === null || (axes !== null && knownValues(axes) === null)) return null
  const which = reducedAxes(node, x, axes)
  if (which === 'none') return 1
  if (which === 'runtime') return null
  const dims = which === 'all' ? x.shape : which.map((a) => x.shape![a])
  return staticNumel(dims)
}

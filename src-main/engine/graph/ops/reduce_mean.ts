import { defineOp } from '../registry'
import { staticNumel } from '../shape'
import type { GraphNode, Tensor } from '../tensor'
import { cast } from './cast'
import { div } from './div'
import { knownValues } from './common'
import { reduce, reducedAxes, unreduce, type ReduceOptions } from './reduce_common'
import { size } from './shape_ops'

export function reduceMean(
  x: Tensor,
  axes?: readonly number[] | Tensor,
  options: ReduceOptions = {}
): Tensor {
  return reduce('ReduceMean', x, axes, options)
}

// Like ReduceSum, divided by the number of elements averaged: the product of the reduced dims
// when they are static, else numel(x) / numel(y) at run time.
export const ReduceMean = defineOp({
  opType: 'ReduceMean',
  gradient: ({ node, inputs: [x, axes], outputs: [y], grad }) => [
    () => {
      const count =
        staticCount(node, x!, axes ?? null) ?? div(cast(size(x!), x!.dtype), cast(size(y), x!.dtype))
      return div(unreduce(grad, node, x!, axes ?? null), count)
    },
    null
  ]
})

function staticCount(node: GraphNode, x: Tensor, axes: Tensor | null): number | null {
  if (x.shape === null || (axes !== null && knownValues(axes) === null)) return null
  const which = reducedAxes(node, x, axes)
  if (which === 'none') return 1
  if (which === 'runtime') return null
  const dims = which === 'all' ? x.shape : which.map((a) => x.shape![a])
  return staticNumel(dims)
}

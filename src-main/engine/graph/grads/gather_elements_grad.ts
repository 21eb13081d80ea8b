import { intAttr } from '../attrs'
import { gather } from '../ops/gather'
import { gatherElements } from '../ops/gather_elements'
import { equal } from '../ops/logical'
import { reshape } from '../ops/reshape'
import { range, shapeOf } from '../ops/shape_ops'
import { where } from '../ops/where'
import { defineOp, NOT_DIFFERENTIABLE } from '../registry'
import { normalizeAxis } from '../shape'
import type { Tensor } from '../tensor'
import { flatIndicesLike, scatterAddFlat } from './flat_index'

// When one element is picked per line (indices has size 1 on the axis — cross-entropy's label
// pick) the gradient is a one-hot mask times g, which every execution provider runs without a
// scatter. Otherwise picks may repeat and the gradient scatter-adds through flat indices.
// Indices are expected to be non-negative; outside the axis indices must match data's shape.
export const gatherElementsGrad = defineOp({
  opType: 'GatherElements',
  gradient: ({ node, inputs: [data, indices], grad }) => [
    () => {
      const rank = data!.rank
      if (rank === null) throw new Error(`${node.name}: gradient needs the rank of ${data!.name}`)
      const axis = normalizeAxis(intAttr(node, 'axis', 0), rank, node.name)
      if (indices!.shape?.[axis] === 1) return oneHotGrad(data!, indices!, grad, axis)
      return scatterAddFlat(data!, gatherElements(flatIndicesLike(data!), indices!, axis), grad)
    },
    NOT_DIFFERENTIABLE
  ]
})

function oneHotGrad(data: Tensor, indices: Tensor, grad: Tensor, axis: number): Tensor {
  const rank = data.rank!
  const axisSize = data.shape![axis]
  const length =
    typeof axisSize === 'number'
      ? data.graph.scalar(axisSize, 'int64')
      : gather(shapeOf(data), data.graph.scalar(axis, 'int64'))
  // positions along the axis, shaped [1, …, n, …, 1] to broadcast against indices
  const lineShape = Array.from({ length: rank }, (_, i) => (i === axis ? -1 : 1))
  const positions = reshape(range(0, length, 1, 'int64'), lineShape)
  return where(equal(indices, positions), grad, 0)
}

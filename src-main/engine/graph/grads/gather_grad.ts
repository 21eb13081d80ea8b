import { intAttr } from '../attrs'
import { gather } from '../ops/gather'
import { scatterND } from '../ops/scatter_nd'
import { zerosLike } from '../ops/shape_ops'
import { unsqueeze } from '../ops/unsqueeze'
import { defineOp, NOT_DIFFERENTIABLE } from '../registry'
import { normalizeAxis } from '../shape'
import { flatIndicesLike, scatterAddFlat } from './flat_index'

// Rows picked several times accumulate: a scatter-add of g into zeros. On axis 0 ScatterND adds
// whole rows (g's trailing dims are the row); other axes go through flat indices.
// Indices are expected to be non-negative.
export const gatherGrad = defineOp({
  opType: 'Gather',
  gradient: ({ node, inputs: [data, indices], grad }) => [
    () => {
      const rank = data!.rank
      const axis = intAttr(node, 'axis', 0)
      if (rank !== null && normalizeAxis(axis, rank, node.name) === 0) {
        return scatterND(zerosLike(data!), unsqueeze(indices!, [-1]), grad, 'add')
      }
      return scatterAddFlat(data!, gather(flatIndicesLike(data!), indices!, axis), grad)
    },
    NOT_DIFFERENTIABLE
  ]
})

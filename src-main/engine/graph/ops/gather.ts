import { attr, intAttr } from '../attrs'
import { zerosLike } from '../grad_helpers'
import { defineOp } from '../registry'
import { normalizeAxis, type Dim } from '../shape'
import type { Tensor } from '../tensor'
import { graphOf } from './common'
import { flatIndicesLike, scatterAddFlat } from './flat_index'
import { scatterND } from './scatter_nd'
import { unsqueeze } from './unsqueeze'

/** Picks slices of `data` along `axis` at `indices` (int64; the embedding lookup). */
export function gather(data: Tensor, indices: Tensor, axis = 0): Tensor {
  const g = graphOf('Gather', data, indices)
  let shape: Dim[] | null = null
  if (data.shape !== null && indices.shape !== null) {
    const a = normalizeAxis(axis, data.shape.length, 'Gather')
    shape = [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)]
  }
  return g.node1({
    opType: 'Gather',
    inputs: [data, indices],
    attrs: { axis: attr.int(axis) },
    outputs: [{ dtype: data.dtype, shape }]
  })
}

// Rows picked several times accumulate: a scatter-add of g into zeros. On axis 0 ScatterND adds
// whole rows (g's trailing dims are the row); other axes go through flat indices.
// Indices are expected to be non-negative.
export const Gather = defineOp({
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
    null
  ]
})

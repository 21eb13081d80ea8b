import { attr } from '../attrs'
import { normalizeAxis, type Dim } from '../shape'
import type { Tensor } from '../tensor'
import { graphOf } from './common'

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

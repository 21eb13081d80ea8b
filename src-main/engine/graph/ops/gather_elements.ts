import { attr } from '../attrs'
import type { Tensor } from '../tensor'
import { graphOf } from './common'

/** out[i][j] = data[indices[i][j]][j] (axis 0), etc.: picks one element per index. */
export function gatherElements(data: Tensor, indices: Tensor, axis: number): Tensor {
  const g = graphOf('GatherElements', data, indices)
  return g.node1({
    opType: 'GatherElements',
    inputs: [data, indices],
    attrs: { axis: attr.int(axis) },
    outputs: [{ dtype: data.dtype, shape: indices.shape }]
  })
}

import { attr } from '../attrs'
import type { Tensor } from '../tensor'

export function softmax(x: Tensor, axis = -1): Tensor {
  return x.graph.node1({
    opType: 'Softmax',
    inputs: [x],
    attrs: { axis: attr.int(axis) },
    outputs: [{ dtype: x.dtype, shape: x.shape }]
  })
}

import { attr, intAttr } from '../attrs'
import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { mul } from './mul'
import { reduceSum } from './reduce_sum'
import { sub } from './sub'

export function softmax(x: Tensor, axis = -1): Tensor {
  return x.graph.node1({
    opType: 'Softmax',
    inputs: [x],
    attrs: { axis: attr.int(axis) },
    outputs: [{ dtype: x.dtype, shape: x.shape }]
  })
}

// y = softmax(x): dx = y·(g − Σ g·y) along the axis.
export const Softmax = defineOp({
  opType: 'Softmax',
  gradient: ({ node, outputs: [y], grad }) => [
    () => mul(y, sub(grad, reduceSum(mul(grad, y), [intAttr(node, 'axis', -1)], { keepDims: true })))
  ]
})

import { attr, intAttr } from '../attrs'
import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { exp } from './exp'
import { mul } from './mul'
import { reduceSum } from './reduce_sum'
import { sub } from './sub'

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return x.graph.node1({
    opType: 'LogSoftmax',
    inputs: [x],
    attrs: { axis: attr.int(axis) },
    outputs: [{ dtype: x.dtype, shape: x.shape }]
  })
}

// y = log softmax(x): dx = g − softmax(x)·Σ g along the axis, with softmax(x) = eʸ.
export const LogSoftmax = defineOp({
  opType: 'LogSoftmax',
  gradient: ({ node, outputs: [y], grad }) => [
    () => sub(grad, mul(exp(y), reduceSum(grad, [intAttr(node, 'axis', -1)], { keepDims: true })))
  ]
})

import { intAttr } from '../attrs'
import { exp } from '../ops/exp'
import { mul } from '../ops/mul'
import { reduceSum } from '../ops/reduce_sum'
import { sub } from '../ops/sub'
import { defineOp } from '../registry'

// y = log softmax(x): dx = g − softmax(x)·Σ g along the axis, with softmax(x) = eʸ.
export const logSoftmaxGrad = defineOp({
  opType: 'LogSoftmax',
  gradient: ({ node, outputs: [y], grad }) => [
    () => sub(grad, mul(exp(y), reduceSum(grad, [intAttr(node, 'axis', -1)], { keepDims: true })))
  ]
})

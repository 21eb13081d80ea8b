import { intAttr } from '../attrs'
import { mul } from '../ops/mul'
import { reduceSum } from '../ops/reduce_sum'
import { sub } from '../ops/sub'
import { defineOp } from '../registry'

// y = softmax(x): dx = y·(g − Σ g·y) along the axis.
export const softmaxGrad = defineOp({
  opType: 'Softmax',
  gradient: ({ node, outputs: [y], grad }) => [
    () => mul(y, sub(grad, reduceSum(mul(grad, y), [intAttr(node, 'axis', -1)], { keepDims: true })))
  ]
})

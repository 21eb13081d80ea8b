import { mul } from '../ops/mul'
import { sub } from '../ops/sub'
import { defineOp } from '../registry'

// y = σ(x): dx = g·y·(1-y)
export const sigmoidGrad = defineOp({
  opType: 'Sigmoid',
  gradient: ({ outputs: [y], grad }) => [() => mul(grad, mul(y, sub(1, y)))]
})

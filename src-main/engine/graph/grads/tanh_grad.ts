import { mul } from '../ops/mul'
import { sub } from '../ops/sub'
import { defineOp } from '../registry'

// y = tanh x: dx = g·(1-y²)
export const tanhGrad = defineOp({
  opType: 'Tanh',
  gradient: ({ outputs: [y], grad }) => [() => mul(grad, sub(1, mul(y, y)))]
})

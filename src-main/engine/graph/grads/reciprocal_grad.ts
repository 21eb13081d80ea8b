import { mul } from '../ops/mul'
import { neg } from '../ops/neg'
import { defineOp } from '../registry'

// y = 1/x: dx = -g·y²
export const reciprocalGrad = defineOp({
  opType: 'Reciprocal',
  gradient: ({ outputs: [y], grad }) => [() => neg(mul(grad, mul(y, y)))]
})

import { div } from '../ops/div'
import { mul } from '../ops/mul'
import { defineOp } from '../registry'

// y = √x: dx = g / (2y)
export const sqrtGrad = defineOp({
  opType: 'Sqrt',
  gradient: ({ outputs: [y], grad }) => [() => div(grad, mul(y, 2))]
})

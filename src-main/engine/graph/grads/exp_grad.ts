import { mul } from '../ops/mul'
import { defineOp } from '../registry'

// y = eˣ: dx = g·y
export const expGrad = defineOp({
  opType: 'Exp',
  gradient: ({ outputs: [y], grad }) => [() => mul(grad, y)]
})

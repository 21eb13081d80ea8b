import { div } from '../ops/div'
import { defineOp } from '../registry'

// y = ln x: dx = g/x
export const logGrad = defineOp({
  opType: 'Log',
  gradient: ({ inputs: [x], grad }) => [() => div(grad, x!)]
})

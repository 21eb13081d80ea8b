import { neg } from '../ops/neg'
import { defineOp } from '../registry'

export const negGrad = defineOp({
  opType: 'Neg',
  gradient: ({ grad }) => [() => neg(grad)]
})

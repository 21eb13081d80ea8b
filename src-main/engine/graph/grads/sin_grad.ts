import { cos } from '../ops/cos'
import { mul } from '../ops/mul'
import { defineOp } from '../registry'

export const sinGrad = defineOp({
  opType: 'Sin',
  gradient: ({ inputs: [x], grad }) => [() => mul(grad, cos(x!))]
})

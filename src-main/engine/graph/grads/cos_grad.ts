import { mul } from '../ops/mul'
import { neg } from '../ops/neg'
import { sin } from '../ops/sin'
import { defineOp } from '../registry'

export const cosGrad = defineOp({
  opType: 'Cos',
  gradient: ({ inputs: [x], grad }) => [() => neg(mul(grad, sin(x!)))]
})

import { div } from '../ops/div'
import { mul } from '../ops/mul'
import { neg } from '../ops/neg'
import { defineOp } from '../registry'
import { sumToShapeOf } from './helpers'

// y = a/b: da = g/b, db = -g·a/b² = -g·y/b
export const divGrad = defineOp({
  opType: 'Div',
  gradient: ({ inputs: [a, b], outputs: [y], grad }) => [
    () => sumToShapeOf(div(grad, b!), a!),
    () => sumToShapeOf(neg(div(mul(grad, y), b!)), b!)
  ]
})

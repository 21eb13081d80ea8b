import { mul } from '../ops/mul'
import { defineOp } from '../registry'
import { sumToShapeOf } from './helpers'

// d(a·b) = b·da + a·db
export const mulGrad = defineOp({
  opType: 'Mul',
  gradient: ({ inputs: [a, b], grad }) => [
    () => sumToShapeOf(mul(grad, b!), a!),
    () => sumToShapeOf(mul(grad, a!), b!)
  ]
})

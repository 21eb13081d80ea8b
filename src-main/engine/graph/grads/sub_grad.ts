import { neg } from '../ops/neg'
import { defineOp } from '../registry'
import { sumToShapeOf } from './helpers'

export const subGrad = defineOp({
  opType: 'Sub',
  gradient: ({ inputs: [a, b], grad }) => [() => sumToShapeOf(grad, a!), () => sumToShapeOf(neg(grad), b!)]
})

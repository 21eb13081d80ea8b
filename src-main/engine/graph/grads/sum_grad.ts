import { defineOp } from '../registry'
import { sumToShapeOf } from './helpers'

export const sumGrad = defineOp({
  opType: 'Sum',
  gradient: ({ inputs, grad }) => inputs.map((x) => () => sumToShapeOf(grad, x!))
})

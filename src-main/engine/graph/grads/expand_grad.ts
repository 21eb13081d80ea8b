import { defineOp } from '../registry'
import { gradientOfFirstInput, sumToShapeOf } from './helpers'

export const expandGrad = defineOp({
  opType: 'Expand',
  gradient: ({ inputs, grad }) => gradientOfFirstInput(inputs, () => sumToShapeOf(grad, inputs[0]!))
})

import { defineOp } from '../registry'
import { gradientOfFirstInput, reshapeLike } from './helpers'

export const squeezeGrad = defineOp({
  opType: 'Squeeze',
  gradient: ({ inputs, grad }) => gradientOfFirstInput(inputs, () => reshapeLike(grad, inputs[0]!))
})

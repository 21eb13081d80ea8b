import { defineOp } from '../registry'
import { gradientOfFirstInput, reshapeLike } from './helpers'

export const unsqueezeGrad = defineOp({
  opType: 'Unsqueeze',
  gradient: ({ inputs, grad }) => gradientOfFirstInput(inputs, () => reshapeLike(grad, inputs[0]!))
})

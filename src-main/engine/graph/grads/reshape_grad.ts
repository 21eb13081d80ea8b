import { defineOp } from '../registry'
import { gradientOfFirstInput, reshapeLike } from './helpers'

export const reshapeGrad = defineOp({
  opType: 'Reshape',
  gradient: ({ inputs, grad }) => gradientOfFirstInput(inputs, () => reshapeLike(grad, inputs[0]!))
})

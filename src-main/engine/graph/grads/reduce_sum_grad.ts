import { defineOp } from '../registry'
import { gradientOfFirstInput } from './helpers'
import { unreduce } from './reduce_helpers'

// Every summed element receives the gradient of its sum.
export const reduceSumGrad = defineOp({
  opType: 'ReduceSum',
  gradient: ({ node, inputs, grad }) =>
    gradientOfFirstInput(inputs, () => unreduce(grad, node, inputs[0]!, inputs[1] ?? null))
})

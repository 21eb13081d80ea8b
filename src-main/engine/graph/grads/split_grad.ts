import { intAttr } from '../attrs'
import { concat } from '../ops/concat'
import { zerosLike } from '../ops/shape_ops'
import { defineOp } from '../registry'
import { gradientOfFirstInput } from './helpers'

// The gradient is the output gradients concatenated back, zeros for outputs that had none.
export const splitGrad = defineOp({
  opType: 'Split',
  gradient: ({ node, inputs, outputs, outputGrads }) =>
    gradientOfFirstInput(inputs, () =>
      concat(
        outputGrads.map((g, i) => g ?? zerosLike(outputs[i])),
        intAttr(node, 'axis', 0)
      )
    )
})

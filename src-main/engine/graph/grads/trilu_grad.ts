import { defineOp } from '../registry'
import { gradientOfFirstInput } from './helpers'

// Trilu is a fixed mask, so the gradient is the same mask applied to g.
export const triluGrad = defineOp({
  opType: 'Trilu',
  gradient: ({ node, inputs, grad }) =>
    gradientOfFirstInput(inputs, () =>
      grad.graph.node1({
        opType: 'Trilu',
        inputs: [grad, ...inputs.slice(1)],
        attrs: node.attrs,
        outputs: [{ dtype: grad.dtype, shape: grad.shape }]
      })
    )
})

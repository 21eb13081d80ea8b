import { greater } from '../ops/logical'
import { where } from '../ops/where'
import { defineOp } from '../registry'

// dx = g where x > 0, else 0 (the subgradient at 0 is taken as 0, like PyTorch).
export const reluGrad = defineOp({
  opType: 'Relu',
  gradient: ({ inputs: [x], grad }) => [() => where(greater(x!, 0), grad, 0)]
})

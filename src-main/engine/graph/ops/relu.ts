import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { unary } from './common'
import { greater } from './logical'
import { where } from './where'

export function relu(x: Tensor): Tensor {
  return unary('Relu', x)
}

// dx = g where x > 0, else 0 (the subgradient at 0 is taken as 0, like PyTorch).
export const Relu = defineOp({
  opType: 'Relu',
  gradient: ({ inputs: [x], grad }) => [() => where(greater(x!, 0), grad, 0)]
})

import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { unary } from './common'
import { mul } from './mul'
import { sub } from './sub'

export function tanh(x: Tensor): Tensor {
  return unary('Tanh', x)
}

// y = tanh x: dx = g·(1-y²)
export const Tanh = defineOp({
  opType: 'Tanh',
  gradient: ({ outputs: [y], grad }) => [() => mul(grad, sub(1, mul(y, y)))]
})

import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { unary } from './common'
import { mul } from './mul'
import { sub } from './sub'

export function sigmoid(x: Tensor): Tensor {
  return unary('Sigmoid', x)
}

// y = σ(x): dx = g·y·(1-y)
export const Sigmoid = defineOp({
  opType: 'Sigmoid',
  gradient: ({ outputs: [y], grad }) => [() => mul(grad, mul(y, sub(1, y)))]
})

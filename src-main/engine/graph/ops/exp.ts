import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { unary } from './common'
import { mul } from './mul'

export function exp(x: Tensor): Tensor {
  return unary('Exp', x)
}

// y = eˣ: dx = g·y
export const Exp = defineOp({
  opType: 'Exp',
  gradient: ({ outputs: [y], grad }) => [() => mul(grad, y)]
})

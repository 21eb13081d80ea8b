import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { unary } from './common'
import { div } from './div'
import { mul } from './mul'

export function sqrt(x: Tensor): Tensor {
  return unary('Sqrt', x)
}

// y = √x: dx = g / (2y)
export const Sqrt = defineOp({
  opType: 'Sqrt',
  gradient: ({ outputs: [y], grad }) => [() => div(grad, mul(y, 2))]
})

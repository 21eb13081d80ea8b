import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { unary } from './common'
import { mul } from './mul'
import { neg } from './neg'

export function reciprocal(x: Tensor): Tensor {
  return unary('Reciprocal', x)
}

// y = 1/x: dx = -g·y²
export const Reciprocal = defineOp({
  opType: 'Reciprocal',
  gradient: ({ outputs: [y], grad }) => [() => neg(mul(grad, mul(y, y)))]
})

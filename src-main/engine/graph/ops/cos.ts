import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { unary } from './common'
import { mul } from './mul'
import { neg } from './neg'
import { sin } from './sin'

export function cos(x: Tensor): Tensor {
  return unary('Cos', x)
}

export const Cos = defineOp({
  opType: 'Cos',
  gradient: ({ inputs: [x], grad }) => [() => neg(mul(grad, sin(x!)))]
})

import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { unary } from './common'

export function neg(x: Tensor): Tensor {
  return unary('Neg', x)
}

export const Neg = defineOp({
  opType: 'Neg',
  gradient: ({ grad }) => [() => neg(grad)]
})

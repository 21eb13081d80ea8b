import type { Tensor } from '../tensor'
import { unary } from './common'

export function neg(x: Tensor): Tensor {
  return unary('Neg', x)
}

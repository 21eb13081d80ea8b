import type { Tensor } from '../tensor'
import { unary } from './common'

export function exp(x: Tensor): Tensor {
  return unary('Exp', x)
}

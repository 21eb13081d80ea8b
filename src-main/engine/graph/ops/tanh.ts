import type { Tensor } from '../tensor'
import { unary } from './common'

export function tanh(x: Tensor): Tensor {
  return unary('Tanh', x)
}

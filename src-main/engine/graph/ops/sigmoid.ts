import type { Tensor } from '../tensor'
import { unary } from './common'

export function sigmoid(x: Tensor): Tensor {
  return unary('Sigmoid', x)
}

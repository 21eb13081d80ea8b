import type { Tensor } from '../tensor'
import { unary } from './common'

export function sqrt(x: Tensor): Tensor {
  return unary('Sqrt', x)
}

import type { Tensor } from '../tensor'
import { unary } from './common'

export function reciprocal(x: Tensor): Tensor {
  return unary('Reciprocal', x)
}

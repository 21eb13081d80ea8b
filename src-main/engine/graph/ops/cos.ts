import type { Tensor } from '../tensor'
import { unary } from './common'

export function cos(x: Tensor): Tensor {
  return unary('Cos', x)
}

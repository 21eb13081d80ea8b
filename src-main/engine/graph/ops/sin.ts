import type { Tensor } from '../tensor'
import { unary } from './common'

export function sin(x: Tensor): Tensor {
  return unary('Sin', x)
}

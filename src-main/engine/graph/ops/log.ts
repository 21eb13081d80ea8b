import type { Tensor } from '../tensor'
import { unary } from './common'

export function log(x: Tensor): Tensor {
  return unary('Log', x)
}

import type { Tensor } from '../tensor'
import { unary } from './common'

export function relu(x: Tensor): Tensor {
  return unary('Relu', x)
}

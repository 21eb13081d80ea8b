import type { Tensor } from '../tensor'
import { elementwise, type TensorLike } from './common'

export function mul(a: TensorLike, b: TensorLike): Tensor {
  return elementwise('Mul', [a, b])
}

import type { Tensor } from '../tensor'
import { elementwise, type TensorLike } from './common'

export function sub(a: TensorLike, b: TensorLike): Tensor {
  return elementwise('Sub', [a, b])
}

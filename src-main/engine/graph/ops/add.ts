import type { Tensor } from '../tensor'
import { elementwise, type TensorLike } from './common'

export function add(a: TensorLike, b: TensorLike): Tensor {
  return elementwise('Add', [a, b])
}

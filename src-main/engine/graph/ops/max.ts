import type { Tensor } from '../tensor'
import { elementwise, type TensorLike } from './common'

/** Elementwise maximum of two tensors (broadcasting). */
export function max(a: TensorLike, b: TensorLike): Tensor {
  return elementwise('Max', [a, b])
}

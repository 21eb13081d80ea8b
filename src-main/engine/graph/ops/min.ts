import type { Tensor } from '../tensor'
import { elementwise, type TensorLike } from './common'

/** Elementwise minimum of two tensors (broadcasting). */
export function min(a: TensorLike, b: TensorLike): Tensor {
  return elementwise('Min', [a, b])
}

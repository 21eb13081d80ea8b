import type { Tensor } from '../tensor'
import { elementwise, type TensorLike } from './common'

/** x^exponent; a number exponent becomes a constant of x's dtype. */
export function pow(x: Tensor, exponent: TensorLike): Tensor {
  return elementwise('Pow', [x, exponent])
}

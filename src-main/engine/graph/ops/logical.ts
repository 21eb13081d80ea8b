/**
 * Comparisons and boolean logic. Their outputs are bool, so no gradient flows through them; they
 * share one file because each is a one-line builder with nothing else to hold.
 */
import type { Tensor } from '../tensor'
import { elementwise, unary, type TensorLike } from './common'

export function equal(a: TensorLike, b: TensorLike): Tensor {
  return elementwise('Equal', [a, b], 'bool')
}

export function less(a: TensorLike, b: TensorLike): Tensor {
  return elementwise('Less', [a, b], 'bool')
}

export function greater(a: TensorLike, b: TensorLike): Tensor {
  return elementwise('Greater', [a, b], 'bool')
}

export function not(x: Tensor): Tensor {
  return unary('Not', x)
}

export function and(a: Tensor, b: Tensor): Tensor {
  return elementwise('And', [a, b], 'bool')
}

/**
 * Comparisons and boolean logic. Their outputs are bool, so no gradient flows through them; they
 * share one file because each is a one-line builder with nothing else to hold.
 */
import { defineOp } from '../registry'
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

export const Equal = defineOp({ opType: 'Equal', gradient: 'non-differentiable' })
export const Less = defineOp({ opType: 'Less', gradient: 'non-differentiable' })
export const Greater = defineOp({ opType: 'Greater', gradient: 'non-differentiable' })
export const Not = defineOp({ opType: 'Not', gradient: 'non-differentiable' })
export const And = defineOp({ opType: 'And', gradient: 'non-differentiable' })

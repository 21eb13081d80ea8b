import { sumToShapeOf } from '../grad_helpers'
import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { elementwise, once, type TensorLike } from './common'
import { less } from './logical'
import { where } from './where'

/** Elementwise minimum of two tensors (broadcasting). */
export function min(a: TensorLike, b: TensorLike): Tensor {
  return elementwise('Min', [a, b])
}

// The gradient goes to the smaller input; ties go to `a`.
export const Min = defineOp({
  opType: 'Min',
  gradient: ({ inputs: [a, b], grad }) => {
    const bWins = once(() => less(b!, a!))
    return [() => sumToShapeOf(where(bWins(), 0, grad), a!), () => sumToShapeOf(where(bWins(), grad, 0), b!)]
  }
})

import { sumToShapeOf } from '../grad_helpers'
import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { elementwise, once, type TensorLike } from './common'
import { less } from './logical'
import { where } from './where'

/** Elementwise maximum of two tensors (broadcasting). */
export function max(a: TensorLike, b: TensorLike): Tensor {
  return elementwise('Max', [a, b])
}

// The gradient goes to the larger input; ties go to `a`.
export const Max = defineOp({
  opType: 'Max',
  gradient: ({ inputs: [a, b], grad }) => {
    const bWins = once(() => less(a!, b!))
    return [() => sumToShapeOf(where(bWins(), 0, grad), a!), () => sumToShapeOf(where(bWins(), grad, 0), b!)]
  }
})

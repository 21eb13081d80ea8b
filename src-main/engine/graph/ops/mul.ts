import { sumToShapeOf } from '../grad_helpers'
import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { elementwise, type TensorLike } from './common'

export function mul(a: TensorLike, b: TensorLike): Tensor {
  return elementwise('Mul', [a, b])
}

// d(a·b) = b·da + a·db
export const Mul = defineOp({
  opType: 'Mul',
  gradient: ({ inputs: [a, b], grad }) => [
    () => sumToShapeOf(mul(grad, b!), a!),
    () => sumToShapeOf(mul(grad, a!), b!)
  ]
})

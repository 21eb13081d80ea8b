import { sumToShapeOf } from '../grad_helpers'
import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { elementwise, type TensorLike } from './common'
import { mul } from './mul'
import { neg } from './neg'

export function div(a: TensorLike, b: TensorLike): Tensor {
  return elementwise('Div', [a, b])
}

// y = a/b: da = g/b, db = -g·a/b² = -g·y/b
export const Div = defineOp({
  opType: 'Div',
  gradient: ({ inputs: [a, b], outputs: [y], grad }) => [
    () => sumToShapeOf(div(grad, b!), a!),
    () => sumToShapeOf(neg(div(mul(grad, y), b!)), b!)
  ]
})

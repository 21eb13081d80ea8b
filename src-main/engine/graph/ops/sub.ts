import { sumToShapeOf } from '../grad_helpers'
import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { elementwise, type TensorLike } from './common'
import { neg } from './neg'

export function sub(a: TensorLike, b: TensorLike): Tensor {
  return elementwise('Sub', [a, b])
}

export const Sub = defineOp({
  opType: 'Sub',
  gradient: ({ inputs: [a, b], grad }) => [() => sumToShapeOf(grad, a!), () => sumToShapeOf(neg(grad), b!)]
})

import { sumToShapeOf } from '../grad_helpers'
import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { elementwise, type TensorLike } from './common'

export function add(a: TensorLike, b: TensorLike): Tensor {
  return elementwise('Add', [a, b])
}

// d(a+b) = da + db; each side sums away the axes it was broadcast along.
export const Add = defineOp({
  opType: 'Add',
  gradient: ({ inputs: [a, b], grad }) => [() => sumToShapeOf(grad, a!), () => sumToShapeOf(grad, b!)]
})

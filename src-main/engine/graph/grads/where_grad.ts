import { where } from '../ops/where'
import { defineOp, NOT_DIFFERENTIABLE } from '../registry'
import { sumToShapeOf } from './helpers'

// Each branch receives the gradient where it was selected; the condition is a mask.
export const whereGrad = defineOp({
  opType: 'Where',
  gradient: ({ inputs: [condition, x, y], grad }) => [
    NOT_DIFFERENTIABLE,
    () => sumToShapeOf(where(condition!, grad, 0), x!),
    () => sumToShapeOf(where(condition!, 0, grad), y!)
  ]
})

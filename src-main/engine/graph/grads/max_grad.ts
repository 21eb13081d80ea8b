import { less } from '../ops/logical'
import { where } from '../ops/where'
import { defineOp } from '../registry'
import { once, sumToShapeOf } from './helpers'

// The gradient goes to the larger input; ties go to `a`.
export const maxGrad = defineOp({
  opType: 'Max',
  gradient: ({ inputs: [a, b], grad }) => {
    const bWins = once(() => less(a!, b!))
    return [() => sumToShapeOf(where(bWins(), 0, grad), a!), () => sumToShapeOf(where(bWins(), grad, 0), b!)]
  }
})

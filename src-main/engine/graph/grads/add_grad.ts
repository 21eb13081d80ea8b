import { defineOp } from '../registry'
import { sumToShapeOf } from './helpers'

// d(a+b) = da + db; each side sums away the axes it was broadcast along.
export const addGrad = defineOp({
  opType: 'Add',
  gradient: ({ inputs: [a, b], grad }) => [() => sumToShapeOf(grad, a!), () => sumToShapeOf(grad, b!)]
})

import { sumToShapeOf } from '../grad_helpers'
import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { elementwise, type TensorLike } from './common'
import { log } from './log'
import { mul } from './mul'
import { sub } from './sub'

/** x^exponent; a number exponent becomes a constant of x's dtype. */
export function pow(x: Tensor, exponent: TensorLike): Tensor {
  return elementwise('Pow', [x, exponent])
}

// y = x^p: dx = g·p·x^(p-1); dp = g·y·ln(x) (defined for x > 0 only).
export const Pow = defineOp({
  opType: 'Pow',
  gradient: ({ inputs: [x, p], outputs: [y], grad }) => [
    () => sumToShapeOf(mul(grad, powDerivative(x!, p!)), x!),
    () => sumToShapeOf(mul(grad, mul(y, log(x!))), p!)
  ]
})

function powDerivative(x: Tensor, p: Tensor): Tensor {
  const constant = p.constValue?.length === 1 ? p.constValue[0] : null
  if (constant === 1) return x.graph.scalar(1, x.dtype)
  if (constant === 2) return mul(x, 2)
  if (constant !== null) return mul(pow(x, constant - 1), constant)
  return mul(pow(x, sub(p, 1)), p)
}

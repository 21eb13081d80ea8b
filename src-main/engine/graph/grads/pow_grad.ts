import { log } from '../ops/log'
import { mul } from '../ops/mul'
import { pow } from '../ops/pow'
import { sub } from '../ops/sub'
import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { sumToShapeOf } from './helpers'

// y = x^p: dx = g·p·x^(p-1); dp = g·y·ln(x) (defined for x > 0 only).
export const powGrad = defineOp({
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

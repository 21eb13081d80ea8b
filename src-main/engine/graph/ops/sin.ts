import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { unary } from './common'
import { cos } from './cos'
import { mul } from './mul'

export function sin(x: Tensor): Tensor {
  return unary('Sin', x)
}

export const Sin = defineOp({
  opType: 'Sin',
  gradient: ({ inputs: [x], grad }) => [() => mul(grad, cos(x!))]
})

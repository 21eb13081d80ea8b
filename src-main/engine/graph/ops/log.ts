import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { unary } from './common'
import { div } from './div'

export function log(x: Tensor): Tensor {
  return unary('Log', x)
}

// y = ln x: dx = g/x
export const Log = defineOp({
  opType: 'Log',
  gradient: ({ inputs: [x], grad }) => [() => div(grad, x!)]
})

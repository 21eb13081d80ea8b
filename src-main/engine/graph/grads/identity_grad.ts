import { defineOp } from '../registry'

export const identityGrad = defineOp({
  opType: 'Identity',
  gradient: ({ grad }) => [() => grad]
})

// stopGradient(x): an Identity node whose rule key is 'StopGradient'.
export const stopGradientGrad = defineOp({ opType: 'StopGradient', gradient: 'non-differentiable' })

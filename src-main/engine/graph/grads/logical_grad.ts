// Comparisons and boolean logic output bool: no gradient flows through them.
import { defineOp } from '../registry'

export const equalGrad = defineOp({ opType: 'Equal', gradient: 'non-differentiable' })
export const lessGrad = defineOp({ opType: 'Less', gradient: 'non-differentiable' })
export const greaterGrad = defineOp({ opType: 'Greater', gradient: 'non-differentiable' })
export const notGrad = defineOp({ opType: 'Not', gradient: 'non-differentiable' })
export const andGrad = defineOp({ opType: 'And', gradient: 'non-differentiable' })

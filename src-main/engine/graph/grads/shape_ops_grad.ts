// Shapes, sizes, index ranges and fills are integers or constants to autodiff: no gradient flows.
import { defineOp } from '../registry'

export const shapeGrad = defineOp({ opType: 'Shape', gradient: 'non-differentiable' })
export const sizeGrad = defineOp({ opType: 'Size', gradient: 'non-differentiable' })
export const constantOfShapeGrad = defineOp({ opType: 'ConstantOfShape', gradient: 'non-differentiable' })
export const rangeGrad = defineOp({ opType: 'Range', gradient: 'non-differentiable' })
export const nonZeroGrad = defineOp({ opType: 'NonZero', gradient: 'non-differentiable' })

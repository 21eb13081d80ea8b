import { isFloatDType } from '../../onnx/dtype'
import { cast } from '../ops/cast'
import { defineOp, NOT_DIFFERENTIABLE } from '../registry'

// Between float types the gradient is cast back; through integers nothing flows.
export const castGrad = defineOp({
  opType: 'Cast',
  gradient: ({ inputs: [x], outputs: [y], grad }) => [
    isFloatDType(x!.dtype) && isFloatDType(y.dtype) ? () => cast(grad, x!.dtype) : NOT_DIFFERENTIABLE
  ]
})

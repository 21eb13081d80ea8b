import { ONNX_DATA_TYPE, type DType } from '../../onnx/dtype'
import { attr } from '../attrs'
import type { Tensor } from '../tensor'

/** Converts x to `to`; returns x itself when it already has that dtype. */
export function cast(x: Tensor, to: DType): Tensor {
  if (x.dtype === to) return x
  return x.graph.node1({
    opType: 'Cast',
    inputs: [x],
    attrs: { to: attr.int(ONNX_DATA_TYPE[to]) },
    outputs: [{ dtype: to, shape: x.shape, constValue: castValues(x.constValue, to) }]
  })
}

/** Known values survive a cast only where they are exact: integers into an integer type. */
function castValues(values: readonly number[] | null, to: DType): readonly number[] | null {
  const integerTarget = to === 'int64' || to === 'int32' || to === 'int8' || to === 'uint8'
  return values && integerTarget && values.every(Number.isInteger) ? values : null
}

/**
 * Ops that compute shapes, sizes, index ranges and fills, and the fills shaped like a tensor built
 * from them. Their outputs are integer tensors or constants to autodiff, so none has a gradient;
 * they share one file for that reason.
 */
import type { DType } from '../../onnx/dtype'
import { tensorFromNumbers } from '../../onnx/tensor'
import { attr, type Attrs } from '../attrs'
import { isStaticShape, type Dim, type Shape } from '../shape'
import type { Tensor } from '../tensor'
import { graphOf, requireRank, toTensor, type TensorLike } from './common'

/** Shape(x)[start:end] as int64 (a constant value is attached when x's shape is static). */
export function shape(x: Tensor, start?: number, end?: number): Tensor {
  const attrs: Record<string, ReturnType<typeof attr.int>> = {}
  if (start !== undefined) attrs.start = attr.int(start)
  if (end !== undefined) attrs.end = attr.int(end)
  let length: number | null = null
  let constValue: readonly number[] | null = null
  if (x.shape !== null) {
    const rank = x.shape.length
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank)
    const from = clamp(start ?? 0)
    const to = clamp(end ?? rank)
    length = Math.max(to - from, 0)
    const dims = x.shape.slice(from, from + length)
    if (isStaticShape(dims)) constValue = dims
  }
  return x.graph.node1({
    opType: 'Shape',
    inputs: [x],
    attrs,
    outputs: [{ dtype: 'int64', shape: [length], constValue }]
  })
}

/** Number of elements of x, as an int64 scalar. */
export function size(x: Tensor): Tensor {
  return x.graph.node1({ opType: 'Size', inputs: [x], outputs: [{ dtype: 'int64', shape: [] }] })
}

/**
 * A tensor of shape `shapeTensor` (1-D int64) filled with `value`. `knownShape` tells the builder
 * the result's shape when the shape tensor is only known at run time.
 */
export function constantOfShape(
  shapeTensor: Tensor,
  value: number,
  dtype: DType,
  knownShape?: Shape | null
): Tensor {
  const fill = tensorFromNumbers('value', dtype, [1], [value])
  let outShape: Shape | null = knownShape ?? null
  if (shapeTensor.constValue) outShape = shapeTensor.constValue
  else if (!outShape && shapeTensor.shape && typeof shapeTensor.shape[0] === 'number') {
    outShape = new Array<Dim>(shapeTensor.shape[0]).fill(null)
  }
  const attrs: Attrs = { value: attr.tensor(fill) }
  return shapeTensor.graph.node1({
    opType: 'ConstantOfShape',
    inputs: [shapeTensor],
    attrs,
    outputs: [{ dtype, shape: outShape }]
  })
}

/** [start, start+delta, …) below `limit`; all three are scalars of one dtype. */
export function range(start: TensorLike, limit: TensorLike, delta: TensorLike = 1, dtype?: DType): Tensor {
  const g = graphOf('Range', start, limit, delta)
  const type = dtype ?? [start, limit, delta].find((v): v is Tensor => typeof v !== 'number')!.dtype
  const inputs = [start, limit, delta].map((v) => toTensor(g, v, type))
  const values = inputs.map((t) => (t.constValue?.length === 1 ? t.constValue[0] : null))
  const length =
    values.every((v) => v !== null) && values[2] !== 0
      ? Math.max(Math.ceil((values[1]! - values[0]!) / values[2]!), 0)
      : null
  return g.node1({ opType: 'Range', inputs, outputs: [{ dtype: type, shape: [length] }] })
}

/** Coordinates of the non-zero elements: int64 [rank, count]. */
export function nonZero(x: Tensor): Tensor {
  const rank = requireRank(x, 'NonZero')
  return x.graph.node1({ opType: 'NonZero', inputs: [x], outputs: [{ dtype: 'int64', shape: [rank, null] }] })
}

/** The shape of `x` as a 1-D int64 tensor: a constant when static, else a Shape node. */
export function shapeOf(x: Tensor): Tensor {
  return isStaticShape(x.shape) ? x.graph.int64s(x.shape) : shape(x)
}

/** A tensor shaped like `x` filled with `value`. */
export function fillLike(x: Tensor, value: number): Tensor {
  return constantOfShape(shapeOf(x), value, x.dtype, x.shape)
}

export function zerosLike(x: Tensor): Tensor {
  return fillLike(x, 0)
}

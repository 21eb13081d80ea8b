/** Shared by ReduceSum / ReduceMean / ReduceMax: building the node and its output shape. */
import { attr, type Attrs } from '../attrs'
import type { Dim, Shape } from '../shape'
import { Tensor } from '../tensor'
import { knownValues, normalizeAxes } from './common'

export interface ReduceOptions {
  /** Keep reduced axes as size 1 (ONNX default: true). */
  keepDims?: boolean
  /** With no axes, return the input unchanged instead of reducing everything. */
  noopWithEmptyAxes?: boolean
}

/**
 * Builds a Reduce* node (opset 18: axes are an input). `axes` undefined or empty means all axes
 * unless noopWithEmptyAxes is set.
 */
export function reduce(
  opType: string,
  x: Tensor,
  axes: readonly number[] | Tensor | undefined,
  options: ReduceOptions
): Tensor {
  const keepDims = options.keepDims ?? true
  const g = x.graph
  const axesTensor =
    axes === undefined || (Array.isArray(axes) && axes.length === 0)
      ? null
      : axes instanceof Tensor
        ? axes
        : g.int64s(axes as number[])
  const attrs: Record<string, Attrs[string]> = { keepdims: attr.int(keepDims ? 1 : 0) }
  if (options.noopWithEmptyAxes) attrs.noop_with_empty_axes = attr.int(1)
  const shape = reducedShape(x.shape, axesTensor, keepDims, options.noopWithEmptyAxes ?? false, opType)
  return g.node1({
    opType,
    inputs: axesTensor ? [x, axesTensor] : [x],
    attrs,
    outputs: [{ dtype: x.dtype, shape }]
  })
}

function reducedShape(
  shape: Shape | null,
  axes: Tensor | null,
  keepDims: boolean,
  noop: boolean,
  where: string
): Shape | null {
  if (shape === null) return null
  const axisValues = axes === null ? [] : knownValues(axes)
  if (axisValues === null) return keepDims ? shape.map((): Dim => null) : null
  if (axisValues.length === 0 && noop) return shape
  const reduced = new Set(
    axisValues.length === 0 ? shape.map((_, i) => i) : normalizeAxes(axisValues, shape.length, where)
  )
  const out: Dim[] = []
  shape.forEach((d, i) => {
    if (!reduced.has(i)) out.push(d)
    else if (keepDims) out.push(1)
  })
  return out
}

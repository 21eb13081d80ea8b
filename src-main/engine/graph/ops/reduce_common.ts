/** Shared by ReduceSum / ReduceMean / ReduceMax: building the node and un-reducing gradients. */
import { attr, intAttr, type Attrs } from '../attrs'
import { shapeOf } from '../grad_helpers'
import type { Dim, Shape } from '../shape'
import { Tensor, type GraphNode } from '../tensor'
import { knownValues, normalizeAxes } from './common'
import { expand } from './expand'
import { unsqueeze } from './unsqueeze'

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

export type ReducedAxes = number[] | 'all' | 'none' | 'runtime'

/** Which axes a reduce node reduced: normalized, all, none (a no-op), or only known at run time. */
export function reducedAxes(node: GraphNode, x: Tensor, axes: Tensor | null): ReducedAxes {
  const noop = intAttr(node, 'noop_with_empty_axes', 0) === 1
  if (axes === null) return noop ? 'none' : 'all'
  const values = knownValues(axes)
  if (values === null) return 'runtime'
  if (values.length === 0) return noop ? 'none' : 'all'
  if (x.rank === null) throw new Error(`${node.name}: gradient needs the rank of ${x.name}`)
  return normalizeAxes(values, x.rank, node.name)
}

/** A reduced value (y or its gradient) with dropped axes restored as size 1, to broadcast against x. */
export function withReducedAxesKept(t: Tensor, node: GraphNode, which: ReducedAxes): Tensor {
  if (intAttr(node, 'keepdims', 1) === 1 || which === 'all' || which === 'none') return t
  if (which === 'runtime') {
    throw new Error(`${node.name}: gradient of a keepdims=0 reduction over run-time axes is not supported`)
  }
  return unsqueeze(t, which)
}

/** Broadcasts a reduced gradient back over x's shape: dropped axes restored, then Expand to Shape(x). */
export function unreduce(grad: Tensor, node: GraphNode, x: Tensor, axes: Tensor | null): Tensor {
  const which = reducedAxes(node, x, axes)
  if (which === 'none') return grad
  return expand(withReducedAxesKept(grad, node, which), shapeOf(x), x.shape)
}

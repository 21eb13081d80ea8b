/** What the gradients of ReduceSum / ReduceMean / ReduceMax share: which axes were reduced, and undoing it. */
import { intAttr } from '../attrs'
import { knownValues, normalizeAxes } from '../ops/common'
import { expand } from '../ops/expand'
import { shapeOf } from '../ops/shape_ops'
import { unsqueeze } from '../ops/unsqueeze'
import type { GraphNode, Tensor } from '../tensor'

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

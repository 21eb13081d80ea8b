/**
 * Reading a value "not before" another: `gateOn(t, anchor)` is t, read through a Slice whose start
 * is computed from `anchor`'s shape (always 0). onnxruntime cannot run it before `anchor` exists,
 * cannot fold it into a constant when t is one (a frozen matrix decoded in the forward pass would
 * otherwise be decoded once at load and kept whole in float32), and cannot merge it with another
 * read of t (common-subexpression elimination would otherwise merge a recomputation back into the
 * forward pass). The Slice keeps t's shape.
 */
import { cast } from './ops/cast'
import { less } from './ops/logical'
import { mul } from './ops/mul'
import { reduceSum } from './ops/reduce_sum'
import { reshape } from './ops/reshape'
import { shape } from './ops/shape_ops'
import { SLICE_TO_END } from './ops/slice'
import type { Tensor } from './tensor'

/**
 * A 1-D int64 [0] that onnxruntime can only know once `anchor` is computed: 0 × a symbolic dim of
 * its shape, or, when every dim is known, whether its sum is below −∞ (never, even for NaN).
 */
export function runTimeZero(anchor: Tensor): Tensor {
  const axis = anchor.shape?.findIndex((d) => typeof d !== 'number') ?? 0
  if (axis >= 0) return mul(shape(anchor, axis, axis + 1), 0)
  const never = less(reduceSum(anchor, undefined, { keepDims: false }), -Infinity)
  return reshape(cast(never, 'int64'), [1])
}

/** `t` read after `zero` (a runTimeZero) is computed. */
export function gateOn(t: Tensor, zero: Tensor): Tensor {
  const graph = t.graph
  const flat = t.rank === 0 ? reshape(t, [1]) : t
  const sliced = graph.node1({
    opType: 'Slice',
    inputs: [flat, zero, graph.int64s([SLICE_TO_END]), graph.int64s([0])],
    outputs: [{ dtype: t.dtype, shape: flat.shape }]
  })
  return t.rank === 0 ? reshape(sliced, [], []) : sliced
}

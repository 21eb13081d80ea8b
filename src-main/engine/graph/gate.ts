/**
 * Reading a value "not before" another: `gateOn(t, anchor)` is t, read through a Slice whose start
 * is computed from `anchor`'s shape (always 0). onnxruntime cannot run it before `anchor` exists,
 * cannot fold it into a constant when t is one (a frozen matrix decoded in the forward pass would
 * otherwise be decoded once at load and kept whole in float32), and cannot merge it with another
 * read of t (common-subexpression elimination would otherwise merge a recomputation back into the
 * forward pass). The Slice keeps t's shape.
 */
import { add } from './ops/add'
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
  if (t.rank === 0) return reshape(gateRows(reshape(t, [1]), zero, 0, SLICE_TO_END), [], [])
  return gateRows(t, zero, 0, SLICE_TO_END)
}

/**
 * Rows [start, end) of `t` (its first axis) read after `zero` is computed: a gate that also
 * selects (a block of a frozen matrix decoded on its own).
 */
export function gateRows(t: Tensor, zero: Tensor, start: number, end: number): Tensor {
  const graph = t.graph
  if (!t.shape || t.shape.length === 0) throw new Error(`gateRows: ${t} needs a known rank ≥ 1`)
  const rows = t.shape[0]
  const count = end === SLICE_TO_END ? rows : typeof rows === 'number' ? Math.min(end, rows) - start : null
  const gated = graph.node1({
    opType: 'Slice',
    inputs: [t, start === 0 ? zero : add(zero, start), graph.int64s([end]), graph.int64s([0])],
    outputs: [{ dtype: t.dtype, shape: [count, ...t.shape.slice(1)] }]
  })
  regating.set(gated, (other) => gateRows(t, other, start, end))
  return gated
}

/**
 * The same gate on another zero (made only when needed), when `t` is a gate's output; otherwise
 * null. A recomputation (autodiff.ts) reads the gated tensor's source through its own gate, so the
 * forward pass's gated copy need not stay alive until the backward pass.
 */
export function regate(t: Tensor, zero: () => Tensor): Tensor | null {
  const again = regating.get(t)
  return again ? again(zero()) : null
}

const regating = new WeakMap<Tensor, (zero: Tensor) => Tensor>()

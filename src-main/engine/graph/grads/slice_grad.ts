import { pad } from '../ops/pad'
import { clampRange, sliceParams, SLICE_TO_END, type AxisSlice } from '../ops/slice'
import { defineOp } from '../registry'
import type { Tensor } from '../tensor'
import { flatIndicesLike, scatterAddFlat } from './flat_index'
import { gradientOfFirstInput } from './helpers'

// With unit steps and build-time parameters the gradient is g zero-padded back to x's extent;
// otherwise it is scattered back through flat indices.
export const sliceGrad = defineOp({
  opType: 'Slice',
  gradient: ({ inputs, grad }) =>
    gradientOfFirstInput(inputs, () => {
      const x = inputs[0]!
      const params = sliceParams(
        x,
        inputs.slice(1).map((t) => t ?? undefined)
      )
      const pads = params ? padsUndoingSlice(x, params) : null
      if (pads) return pad(grad, pads)
      const picked = x.graph.node1({
        opType: 'Slice',
        inputs: [flatIndicesLike(x), ...inputs.slice(1)],
        outputs: [{ dtype: 'int64', shape: grad.shape }]
      })
      return scatterAddFlat(x, picked, grad)
    })
})

/**
 * Pads [begin…, end…] that restore x's extent, when they can be known without x's run-time
 * size: static dims, or symbolic dims sliced as [s:] / [s:-k] with s ≥ 0 (assumes s ≤ dim, i.e.
 * a non-empty slice; an empty one would fail with a shape error rather than go wrong silently).
 */
function padsUndoingSlice(x: Tensor, params: readonly AxisSlice[]): number[] | null {
  const rank = x.rank!
  const begin = new Array<number>(rank).fill(0)
  const finish = new Array<number>(rank).fill(0)
  for (const { axis, start, end, step } of params) {
    if (step !== 1) return null
    const dim = x.shape![axis]
    if (typeof dim === 'number') {
      const [from, to] = clampRange(start, end, step, dim)
      begin[axis] = from
      finish[axis] = dim - Math.max(to, from)
    } else if (start >= 0 && (end >= SLICE_TO_END || end < 0)) {
      begin[axis] = start
      finish[axis] = end < 0 ? -end : 0
    } else {
      return null
    }
  }
  return [...begin, ...finish]
}

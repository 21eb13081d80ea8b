import type { Dim } from '../shape'
import type { Tensor } from '../tensor'
import { normalizeAxes } from './common'

/** Removes size-1 axes: the given ones, or every axis of static size 1 when omitted. */
export function squeeze(x: Tensor, axes?: readonly number[]): Tensor {
  let shape: Dim[] | null = null
  if (x.shape !== null) {
    const removed = axes ? new Set(normalizeAxes(axes, x.shape.length, 'Squeeze')) : null
    if (removed) {
      for (const a of removed) {
        const d = x.shape[a]
        if (typeof d === 'number' && d !== 1) throw new Error(`Squeeze: axis ${a} of ${x} is not 1`)
      }
      shape = x.shape.filter((_, i) => !removed.has(i))
    } else if (x.shape.every((d) => typeof d === 'number')) {
      shape = x.shape.filter((d) => d !== 1)
    }
  }
  return x.graph.node1({
    opType: 'Squeeze',
    inputs: axes ? [x, x.graph.int64s(axes)] : [x],
    outputs: [{ dtype: x.dtype, shape, constValue: x.constValue }]
  })
}

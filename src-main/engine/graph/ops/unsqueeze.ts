import type { Dim } from '../shape'
import type { Tensor } from '../tensor'
import { normalizeAxes } from './common'

/** Inserts size-1 axes; `axes` index the result (negative counts from its end). */
export function unsqueeze(x: Tensor, axes: readonly number[]): Tensor {
  let shape: Dim[] | null = null
  if (x.shape !== null) {
    const outRank = x.shape.length + axes.length
    const inserted = new Set(normalizeAxes(axes, outRank, 'Unsqueeze'))
    shape = []
    let next = 0
    for (let i = 0; i < outRank; i++) shape.push(inserted.has(i) ? 1 : x.shape[next++])
  }
  return x.graph.node1({
    opType: 'Unsqueeze',
    inputs: [x, x.graph.int64s(axes)],
    outputs: [{ dtype: x.dtype, shape, constValue: x.constValue }]
  })
}

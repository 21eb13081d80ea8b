import { attr } from '../attrs'
import { defineOp } from '../registry'
import type { Dim } from '../shape'
import type { Tensor } from '../tensor'
import { int64Input, knownValues, requireRank } from './common'
import { slice, SLICE_TO_END } from './slice'

/** Constant padding: pads = [begin_0, …, begin_n, end_0, …, end_n] over all axes. */
export function pad(x: Tensor, pads: readonly number[] | Tensor, value = 0): Tensor {
  const rank = requireRank(x, 'Pad')
  const padsTensor = int64Input(x.graph, pads)
  const p = knownValues(padsTensor)
  if (p && p.length !== 2 * rank) throw new Error(`Pad: ${p.length} pads for rank ${rank} (${x})`)
  const shape = p
    ? x.shape!.map((d, i): Dim =>
        typeof d === 'number' ? d + p[i] + p[i + rank] : p[i] === 0 && p[i + rank] === 0 ? d : null
      )
    : null
  const inputs = value === 0 ? [x, padsTensor] : [x, padsTensor, x.graph.scalar(value, x.dtype)]
  return x.graph.node1({
    opType: 'Pad',
    inputs,
    attrs: { mode: attr.string('constant') },
    outputs: [{ dtype: x.dtype, shape }]
  })
}

// The gradient is g with the padding cut off again (build-time, non-negative pads only).
export const Pad = defineOp({
  opType: 'Pad',
  gradient: ({ node, inputs: [x, pads], grad }) => [
    () => {
      const p = knownValues(pads)
      if (!p || p.some((v) => v < 0))
        throw new Error(`${node.name}: gradient needs constant non-negative pads`)
      const rank = x!.rank!
      const axes = Array.from({ length: rank }, (_, i) => i)
      const starts = axes.map((i) => p[i])
      const ends = axes.map((i) => (p[i + rank] > 0 ? -p[i + rank] : SLICE_TO_END))
      return slice(grad, starts, ends, axes)
    },
    null,
    null
  ]
})

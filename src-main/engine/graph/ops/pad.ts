import { attr } from '../attrs'
import type { Dim } from '../shape'
import type { Tensor } from '../tensor'
import { int64Input, knownValues, requireRank } from './common'

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

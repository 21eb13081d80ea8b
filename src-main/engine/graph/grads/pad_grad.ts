import { knownValues } from '../ops/common'
import { slice, SLICE_TO_END } from '../ops/slice'
import { defineOp } from '../registry'
import { gradientOfFirstInput } from './helpers'

// The gradient is g with the padding cut off again (build-time, non-negative pads only).
export const padGrad = defineOp({
  opType: 'Pad',
  gradient: ({ node, inputs, grad }) =>
    gradientOfFirstInput(inputs, () => {
      const [x, pads] = inputs
      const p = knownValues(pads)
      if (!p || p.some((v) => v < 0))
        throw new Error(`${node.name}: gradient needs constant non-negative pads`)
      const rank = x!.rank!
      const axes = Array.from({ length: rank }, (_, i) => i)
      const starts = axes.map((i) => p[i])
      const ends = axes.map((i) => (p[i + rank] > 0 ? -p[i + rank] : SLICE_TO_END))
      return slice(grad, starts, ends, axes)
    })
})

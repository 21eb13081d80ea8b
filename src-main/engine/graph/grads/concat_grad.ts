import { intAttr } from '../attrs'
import { concat } from '../ops/concat'
import { requireRank } from '../ops/common'
import { shape } from '../ops/shape_ops'
import { split } from '../ops/split'
import { defineOp } from '../registry'
import { normalizeAxis } from '../shape'
import { once } from './helpers'

// The gradient is split back into pieces as long as the inputs along the axis.
export const concatGrad = defineOp({
  opType: 'Concat',
  gradient: ({ node, inputs, grad }) => {
    const axis = intAttr(node, 'axis', 0)
    const pieces = once(() => {
      const a = normalizeAxis(axis, requireRank(inputs[0]!, node.name), node.name)
      const lengths = inputs.map((x) => x!.shape?.[a])
      const sizes = lengths.every((d): d is number => typeof d === 'number')
        ? lengths
        : concat(
            inputs.map((x) => shape(x!, a, a + 1)),
            0
          )
      return split(grad, sizes, a)
    })
    return inputs.map((_, i) => () => pieces()[i])
  }
})

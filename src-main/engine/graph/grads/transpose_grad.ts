import { intsAttr } from '../attrs'
import { transpose } from '../ops/transpose'
import { defineOp } from '../registry'

// The gradient is transposed back by the inverse permutation.
export const transposeGrad = defineOp({
  opType: 'Transpose',
  gradient: ({ node, grad }) => [
    () => {
      const perm = intsAttr(node, 'perm')!
      const inverse = new Array<number>(perm.length)
      perm.forEach((p, i) => (inverse[p] = i))
      return transpose(grad, inverse)
    }
  ]
})

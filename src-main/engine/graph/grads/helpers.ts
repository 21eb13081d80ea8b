/**
 * Building blocks gradient rules share: answering for parameter inputs, sharing one node between
 * several input gradients, reshaping back to an input's shape and summing a broadcast gradient
 * back to it.
 */
import { concat } from '../ops/concat'
import { and, equal, not } from '../ops/logical'
import { reduceSum } from '../ops/reduce_sum'
import { reshape } from '../ops/reshape'
import { constantOfShape, nonZero, shape, shapeOf, size } from '../ops/shape_ops'
import { sub } from '../ops/sub'
import { unsqueeze } from '../ops/unsqueeze'
import { NOT_DIFFERENTIABLE, type InputGradient } from '../registry'
import { sameDim, type Dim, type Shape } from '../shape'
import type { Tensor } from '../tensor'

/**
 * The answer of an op whose first input carries the data and whose other inputs, however many the
 * node has, are integer parameters (axes, shapes, pads, starts…).
 */
export function gradientOfFirstInput(
  inputs: readonly (Tensor | null)[],
  build: () => Tensor
): InputGradient[] {
  return inputs.map((_, i) => (i === 0 ? build : NOT_DIFFERENTIABLE))
}

/** Memoizes a thunk, so several input gradients can share one node (e.g. one Split). */
export function once<T>(build: () => T): () => T {
  let built: { value: T } | null = null
  return () => {
    if (built === null) built = { value: build() }
    return built.value
  }
}

/**
 * `t` reshaped to `like`'s shape. The target is a constant when `like`'s shape can be spelled
 * from static sizes, dims `t` shares at the same index (0) and one inferred dim (-1); otherwise
 * it is Shape(like) at run time.
 */
export function reshapeLike(t: Tensor, like: Tensor): Tensor {
  const target = constantReshapeTarget(t.shape, like.shape)
  return reshape(t, target ?? shapeOf(like), like.shape)
}

function constantReshapeTarget(from: Shape | null, to: Shape | null): number[] | null {
  if (to === null) return null
  let inferred = false
  const target: number[] = []
  for (let i = 0; i < to.length; i++) {
    const d = to[i]
    if (typeof d === 'number') {
      if (d === 0) return null // a literal 0 would mean "copy", not "size 0"
      target.push(d)
    } else if (from !== null && i < from.length && sameDim(from[i], d)) {
      target.push(0)
    } else if (!inferred) {
      inferred = true
      target.push(-1)
    } else {
      return null
    }
  }
  return target
}

/**
 * Sums `grad` (the gradient of a broadcast result) over the axes along which `x` was broadcast,
 * giving a tensor shaped like `x`. Decided at build time when the shapes say enough, otherwise
 * with runtime Shape ops.
 */
export function sumToShapeOf(grad: Tensor, x: Tensor): Tensor {
  const gs = grad.shape
  const xs = x.shape
  if (gs !== null && xs !== null && gs.length >= xs.length) {
    const lead = gs.length - xs.length
    const broadcastAxes: number[] = []
    let decidable = true
    for (let i = lead; i < gs.length; i++) {
      const xd = xs[i - lead]
      const gd = gs[i]
      if (sameDim(xd, gd) || gd === 1) continue
      if (xd === 1) broadcastAxes.push(i - lead)
      else decidable = false
    }
    if (decidable) {
      const leadAxes = Array.from({ length: lead }, (_, i) => i)
      let out = leadAxes.length > 0 ? reduceSum(grad, leadAxes, { keepDims: false }) : grad
      if (broadcastAxes.length > 0) out = reduceSum(out, broadcastAxes, { keepDims: true })
      return out
    }
  }
  return sumToShapeAtRuntime(grad, x)
}

/**
 * Runtime form: pad Shape(x) with leading ones to the gradient's rank, sum over the axes where
 * x has 1 and the gradient does not, then reshape to Shape(x) (dropping the leading axes).
 */
function sumToShapeAtRuntime(grad: Tensor, x: Tensor): Tensor {
  const g = grad.graph
  const gradShape = shape(grad)
  const xShape = shape(x)
  const missing = unsqueeze(sub(size(gradShape), size(xShape)), [0])
  const padded = concat([constantOfShape(missing, 1, 'int64', null), xShape], 0)
  const one = g.scalar(1, 'int64')
  const broadcast = and(equal(padded, one), not(equal(gradShape, one)))
  const axes = reshape(nonZero(broadcast), [-1])
  const summed = reduceSum(grad, axes, { keepDims: true, noopWithEmptyAxes: true })
  return reshape(summed, xShape, x.shape)
}

/** x [..., d] as a matrix [rows, d]; `lastDim` is d (a number, or symbolic: read at run time). */
export function flattenRows(x: Tensor, lastDim: Dim): Tensor {
  if (x.rank === 2) return x
  if (typeof lastDim === 'number') return reshape(x, [-1, lastDim])
  return reshape(x, concat([x.graph.int64s([-1]), shape(x, -1)], 0))
}

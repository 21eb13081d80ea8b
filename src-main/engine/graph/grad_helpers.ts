/**
 * Building blocks gradient rules share: runtime shapes, zero/one fills, and summing a broadcast
 * gradient back to an input's shape.
 */
import { and, equal, not } from './ops/logical'
import { concat } from './ops/concat'
import { reduceSum } from './ops/reduce_sum'
import { reshape } from './ops/reshape'
import { constantOfShape, nonZero, shape, size } from './ops/shape_ops'
import { sub } from './ops/sub'
import { unsqueeze } from './ops/unsqueeze'
import { isStaticShape, sameDim, type Shape } from './shape'
import type { Tensor } from './tensor'

/** The shape of `x` as a 1-D int64 tensor: a constant when static, else a Shape node. */
export function shapeOf(x: Tensor): Tensor {
  return isStaticShape(x.shape) ? x.graph.int64s(x.shape) : shape(x)
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

/** A tensor shaped like `x` filled with `value`. */
export function fillLike(x: Tensor, value: number): Tensor {
  return constantOfShape(shapeOf(x), value, x.dtype, x.shape)
}

export function zerosLike(x: Tensor): Tensor {
  return fillLike(x, 0)
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

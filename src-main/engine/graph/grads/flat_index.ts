/**
 * Gradients of ops that pick elements (Slice, Gather on a non-leading axis, GatherElements) by
 * running the same op over a tensor of flat element indices: the result says where each picked
 * element came from, and ScatterND adds the gradient back there. It costs an int64 tensor the
 * size of the input, so cheaper special cases are used where they exist.
 */
import { reshape } from '../ops/reshape'
import { scatterND } from '../ops/scatter_nd'
import { range, shapeOf, size, zerosLike } from '../ops/shape_ops'
import { unsqueeze } from '../ops/unsqueeze'
import type { Tensor } from '../tensor'

/** Int64 tensor shaped like x holding 0, 1, 2, … in row-major order. */
export function flatIndicesLike(x: Tensor): Tensor {
  return reshape(range(0, size(x), 1, 'int64'), shapeOf(x), x.shape)
}

/** Adds `grad` into zeros shaped like x at the flat positions `picked` (same shape as grad). */
export function scatterAddFlat(x: Tensor, picked: Tensor, grad: Tensor): Tensor {
  const flatZeros = reshape(zerosLike(x), [-1])
  const positions = unsqueeze(reshape(picked, [-1]), [-1])
  const summed = scatterND(flatZeros, positions, reshape(grad, [-1]), 'add')
  return reshape(summed, shapeOf(x), x.shape)
}

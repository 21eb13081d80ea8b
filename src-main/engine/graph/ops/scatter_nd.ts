import { attr } from '../attrs'
import type { Tensor } from '../tensor'
import { graphOf } from './common'

/**
 * data with slices at `indices` (int64 [..., k]) replaced by — or, with reduction 'add', summed
 * with — `updates`. Used by gradients of gathers; it has no gradient rule of its own, so autodiff
 * reports an error if a loss depends on it.
 *
 * Gradients scatter with ScatterND rather than ScatterElements: onnxruntime's CUDA provider
 * implements ScatterND's reductions (atomic adds) but has no ScatterElements kernel with
 * reduction='add' for opset ≥ 16 (microsoft/onnxruntime#18381), which would run on the CPU.
 */
export function scatterND(
  data: Tensor,
  indices: Tensor,
  updates: Tensor,
  reduction: 'none' | 'add' = 'none'
): Tensor {
  const g = graphOf('ScatterND', data, indices, updates)
  return g.node1({
    opType: 'ScatterND',
    inputs: [data, indices, updates],
    attrs: reduction === 'none' ? {} : { reduction: attr.string(reduction) },
    outputs: [{ dtype: data.dtype, shape: data.shape }]
  })
}

import type { Tensor } from '../tensor'

export function identity(x: Tensor): Tensor {
  return x.graph.node1({ opType: 'Identity', inputs: [x], outputs: [{ dtype: x.dtype, shape: x.shape }] })
}

/**
 * The value of x, treated as a constant by autodiff (PyTorch's detach). Emitted as an Identity
 * node whose gradient rule is 'StopGradient'; onnxruntime removes it when optimizing.
 */
export function stopGradient(x: Tensor): Tensor {
  return x.graph.node1({
    opType: 'Identity',
    gradOp: 'StopGradient',
    inputs: [x],
    outputs: [{ dtype: x.dtype, shape: x.shape, constValue: x.constValue }]
  })
}

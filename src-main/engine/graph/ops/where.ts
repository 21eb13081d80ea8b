import { broadcastShapes } from '../shape'
import type { Tensor } from '../tensor'
import { dtypeOf, graphOf, toTensor, type TensorLike } from './common'

/** condition ? x : y, elementwise with broadcasting; numbers take the other branch's dtype. */
export function where(condition: Tensor, x: TensorLike, y: TensorLike): Tensor {
  const g = graphOf('Where', condition, x, y)
  if (condition.dtype !== 'bool') throw new Error(`Where: condition ${condition} must be bool`)
  const dtype = dtypeOf('Where', x, y)
  const [tx, ty] = [toTensor(g, x, dtype), toTensor(g, y, dtype)]
  if (tx.dtype !== ty.dtype) throw new Error(`Where: branch dtypes differ, ${tx} vs ${ty}`)
  const shape = broadcastShapes('Where', condition.shape, tx.shape, ty.shape)
  return g.node1({ opType: 'Where', inputs: [condition, tx, ty], outputs: [{ dtype, shape }] })
}

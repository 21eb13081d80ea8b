import { broadcastShapes, type Dim, type Shape } from '../shape'
import type { Tensor } from '../tensor'
import { int64Input } from './common'

/**
 * Broadcasts x to `shape` (numpy rules: the result is the broadcast of both). `knownShape` states
 * the target when `shape` is a run-time tensor such as Shape(y).
 */
export function expand(x: Tensor, shape: readonly number[] | Tensor, knownShape?: Shape | null): Tensor {
  const target = int64Input(x.graph, shape)
  let targetShape: Shape | null = target.constValue ?? knownShape ?? null
  if (targetShape === null && target.shape && typeof target.shape[0] === 'number') {
    targetShape = new Array<Dim>(target.shape[0]).fill(null)
  }
  return x.graph.node1({
    opType: 'Expand',
    inputs: [x, target],
    outputs: [{ dtype: x.dtype, shape: broadcastShapes('Expand', x.shape, targetShape) }]
  })
}

import type { Tensor } from '../tensor'
import { reduce, type ReduceOptions } from './reduce_common'

export function reduceMax(x: Tensor, axes?: readonly number[] | Tensor, options: ReduceOptions = {}): Tensor {
  return reduce('ReduceMax', x, axes, options)
}

import type { Tensor } from '../tensor'
import { reduce, type ReduceOptions } from './reduce_common'

export function reduceSum(x: Tensor, axes?: readonly number[] | Tensor, options: ReduceOptions = {}): Tensor {
  return reduce('ReduceSum', x, axes, options)
}

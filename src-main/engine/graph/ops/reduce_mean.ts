import type { Tensor } from '../tensor'
import { reduce, type ReduceOptions } from './reduce_common'

export function reduceMean(
  x: Tensor,
  axes?: readonly number[] | Tensor,
  options: ReduceOptions = {}
): Tensor {
  return reduce('ReduceMean', x, axes, options)
}

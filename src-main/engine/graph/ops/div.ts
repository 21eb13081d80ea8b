import type { Tensor } from '../tensor'
import { elementwise, type TensorLike } from './common'

export function div(a: TensorLike, b: TensorLike): Tensor {
  return elementwise('Div', [a, b])
}

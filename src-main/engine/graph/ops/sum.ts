import type { Tensor } from '../tensor'
import { elementwise } from './common'

/** Elementwise sum of any number of tensors (broadcasting). */
export function sum(values: readonly Tensor[]): Tensor {
  if (values.length === 0) throw new Error('Sum: needs at least one tensor')
  if (values.length === 1) return values[0]
  return elementwise('Sum', values)
}

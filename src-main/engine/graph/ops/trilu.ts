import { attr } from '../attrs'
import type { Tensor } from '../tensor'
import { requireRank } from './common'

export interface TriluOptions {
  /** Keep the upper triangle (default) or the lower one. */
  upper?: boolean
  /** Diagonal offset: k > 0 moves it up-right. */
  k?: number | Tensor
}

/** Zeroes the elements outside the upper/lower triangle of the last two axes. */
export function trilu(x: Tensor, options: TriluOptions = {}): Tensor {
  if (requireRank(x, 'Trilu') < 2) throw new Error(`Trilu: ${x} needs rank ≥ 2`)
  const k =
    options.k === undefined
      ? null
      : typeof options.k === 'number'
        ? x.graph.scalar(options.k, 'int64')
        : options.k
  return x.graph.node1({
    opType: 'Trilu',
    inputs: k ? [x, k] : [x],
    attrs: { upper: attr.int(options.upper === false ? 0 : 1) },
    outputs: [{ dtype: x.dtype, shape: x.shape }]
  })
}

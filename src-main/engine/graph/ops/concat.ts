import { attr } from '../attrs'
import { normalizeAxis, type Dim } from '../shape'
import type { Tensor } from '../tensor'
import { graphOf } from './common'

/** Joins tensors along `axis`. */
export function concat(values: readonly Tensor[], axis: number): Tensor {
  if (values.length === 0) throw new Error('Concat: needs at least one tensor')
  const g = graphOf('Concat', ...values)
  const dtype = values[0].dtype
  for (const v of values)
    if (v.dtype !== dtype) throw new Error(`Concat: dtype mismatch, ${values.join(' vs ')}`)
  return g.node1({
    opType: 'Concat',
    inputs: values,
    attrs: { axis: attr.int(axis) },
    outputs: [{ dtype, shape: concatShape(values, axis), constValue: concatValues(values, axis) }]
  })
}

function concatShape(values: readonly Tensor[], axis: number): Dim[] | null {
  const known = values.find((v) => v.shape !== null)
  if (!known) return null
  const rank = known.shape!.length
  const a = normalizeAxis(axis, rank, 'Concat')
  const out: Dim[] = [...known.shape!]
  let total: number | null = 0
  for (const v of values) {
    if (v.shape === null) return null
    if (v.shape.length !== rank) throw new Error(`Concat: rank mismatch, ${values.join(' vs ')}`)
    const d = v.shape[a]
    total = total !== null && typeof d === 'number' ? total + d : null
  }
  out[a] = total
  return out
}

/** Concatenated values of 1-D constants (shape vectors built from pieces). */
function concatValues(values: readonly Tensor[], axis: number): number[] | null {
  if (axis !== 0 || values.some((v) => v.constValue === null || v.rank !== 1)) return null
  return values.flatMap((v) => v.constValue!)
}

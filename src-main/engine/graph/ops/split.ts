import { attr } from '../attrs'
import { normalizeAxis, type Dim } from '../shape'
import { Tensor } from '../tensor'

/**
 * Splits x along `axis`: `parts` is the list of sizes, a run-time sizes tensor (1-D int64 of
 * static length), or a count of equal parts.
 */
export function split(x: Tensor, parts: readonly number[] | Tensor | number, axis = 0): Tensor[] {
  const g = x.graph
  const a = x.rank === null ? null : normalizeAxis(axis, x.rank, 'Split')
  let count: number
  let sizes: readonly (number | null)[]
  const attrs: Record<string, ReturnType<typeof attr.int>> = { axis: attr.int(axis) }
  const inputs: Tensor[] = [x]
  if (typeof parts === 'number') {
    count = parts
    attrs.num_outputs = attr.int(parts)
    const dim = a === null ? null : x.shape![a]
    sizes = new Array<number | null>(count).fill(
      typeof dim === 'number' && dim % count === 0 ? dim / count : null
    )
  } else if (parts instanceof Tensor) {
    const n = parts.shape?.[0]
    if (typeof n !== 'number') throw new Error(`Split: sizes tensor ${parts} needs a static length`)
    count = n
    sizes = parts.constValue ?? new Array<null>(n).fill(null)
    inputs.push(parts)
  } else {
    count = parts.length
    sizes = parts
    inputs.push(g.int64s(parts))
  }
  const outputs = sizes.map((size) => ({
    dtype: x.dtype,
    shape: a === null ? null : x.shape!.map((d, i): Dim => (i === a ? size : d))
  }))
  if (count < 1) throw new Error(`Split: ${x} into ${count} parts`)
  return g.node({ opType: 'Split', inputs, attrs, outputs })
}

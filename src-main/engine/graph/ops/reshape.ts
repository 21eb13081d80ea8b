import type { Dim, Shape } from '../shape'
import type { Tensor } from '../tensor'
import { int64Input } from './common'

/**
 * Reshape (allowzero = 0: a 0 copies the input's dim, one -1 is inferred). `knownShape` states
 * the result's shape when `shape` is a run-time tensor, e.g. Shape(y) of a tensor y of known shape.
 */
export function reshape(x: Tensor, shape: readonly number[] | Tensor, knownShape?: Shape | null): Tensor {
  const target = int64Input(x.graph, shape)
  const rank = target.shape?.[0]
  let out: Dim[] | null = target.constValue
    ? reshapedShape(x.shape, target.constValue, x.name)
    : typeof rank === 'number'
      ? new Array<Dim>(rank).fill(null)
      : null
  if (knownShape && (out === null || out.length === knownShape.length)) {
    out = knownShape.map((d, i) => out?.[i] ?? d)
  }
  return x.graph.node1({
    opType: 'Reshape',
    inputs: [x, target],
    outputs: [{ dtype: x.dtype, shape: out, constValue: x.constValue }]
  })
}

function reshapedShape(input: Shape | null, target: readonly number[], name: string): Dim[] {
  const out: Dim[] = target.map((d, i) => {
    if (d === 0) return input?.[i] ?? null
    if (d === -1) return null
    if (d < -1) throw new Error(`Reshape: invalid target dim ${d} for ${name}`)
    return d
  })
  const inferAt = target.indexOf(-1)
  if (inferAt >= 0 && input !== null) out[inferAt] = inferredDim(input, out, inferAt)
  return out
}

/**
 * The size a -1 stands for: numel(input) / numel(other target dims), worked out over symbols by
 * cancelling the dims both sides share — e.g. [b, kv, n, seq, d] → [b, kv·n, -1, d] gives seq.
 */
function inferredDim(input: Shape, out: readonly Dim[], inferAt: number): Dim {
  let ratio = 1
  const symbols: string[] = []
  for (const d of input) {
    if (d === null) return null
    if (typeof d === 'number') ratio *= d
    else symbols.push(d)
  }
  for (let i = 0; i < out.length; i++) {
    const d = out[i]
    if (i === inferAt) continue
    if (d === null) return null
    if (typeof d === 'number') {
      ratio /= d
      continue
    }
    const at = symbols.indexOf(d)
    if (at < 0) return null
    symbols.splice(at, 1)
  }
  if (!Number.isInteger(ratio)) return null
  if (symbols.length === 0) return ratio
  return symbols.length === 1 && ratio === 1 ? symbols[0] : null
}

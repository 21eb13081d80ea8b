import { shapeOf } from '../grad_helpers'
import { defineOp } from '../registry'
import { isStaticShape, type Dim, type Shape } from '../shape'
import type { Tensor } from '../tensor'
import { int64Input } from './common'

/**
 * Reshape (allowzero = 0: a 0 copies the input's dim, one -1 is inferred). `knownShape` states
 * the result's shape when `shape` is a run-time tensor, e.g. Shape(y) of a tensor y of known shape.
 */
export function reshape(x: Tensor, shape: readonly number[] | Tensor, knownShape?: Shape | null): Tensor {
  const target = int64Input(x.graph, shape)
  const inferred = target.constValue ? reshapedShape(x.shape, target.constValue, x.name) : null
  const rank = target.shape?.[0]
  const unknownDims = typeof rank === 'number' ? new Array<Dim>(rank).fill(null) : null
  return x.graph.node1({
    opType: 'Reshape',
    inputs: [x, target],
    outputs: [{ dtype: x.dtype, shape: inferred ?? knownShape ?? unknownDims, constValue: x.constValue }]
  })
}

function reshapedShape(input: Shape | null, target: readonly number[], name: string): Shape {
  const out: Dim[] = target.map((d, i) => {
    if (d === 0) return input?.[i] ?? null
    if (d === -1) return null
    if (d < -1) throw new Error(`Reshape: invalid target dim ${d} for ${name}`)
    return d
  })
  const inferAt = target.indexOf(-1)
  if (inferAt >= 0 && isStaticShape(input)) {
    const total = input.reduce((n, d) => n * d, 1)
    const others = out.reduce<number | null>((n, d, i) => (i === inferAt || n === null ? n : typeof d === 'number' ? n * d : null), 1)
    if (others !== null && others > 0) out[inferAt] = total / others
  }
  return out
}

export const Reshape = defineOp({
  opType: 'Reshape',
  gradient: ({ inputs: [x], grad }) => [() => reshape(grad, shapeOf(x!), x!.shape), null]
})

/**
 * Static shape knowledge: a dimension is a size, a symbolic name shared by every tensor with
 * that size (ONNX dim_param semantics: equal names mean equal sizes), or null when unknown.
 * A shape of null means even the rank is unknown. Gradients use this to decide at build time
 * which axes to sum over and fall back to runtime Shape ops when it cannot be decided.
 */

export type Dim = number | string | null
export type Shape = readonly Dim[]

/** True when both dims are known to be the same size. */
export function sameDim(a: Dim, b: Dim): boolean {
  return a !== null && a === b
}

export function sameShape(a: Shape | null, b: Shape | null): boolean {
  return a !== null && b !== null && a.length === b.length && a.every((d, i) => sameDim(d, b[i]))
}

export function isStaticShape(shape: Shape | null): shape is readonly number[] {
  return shape !== null && shape.every((d) => typeof d === 'number')
}

export function formatShape(shape: Shape | null): string {
  if (shape === null) return '[?]'
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`
}

/** Numpy-style (ONNX multidirectional) broadcasting of static knowledge. */
export function broadcastShapes(where: string, ...shapes: (Shape | null)[]): Shape | null {
  if (shapes.some((s) => s === null)) return null
  const known = shapes as Shape[]
  const rank = Math.max(...known.map((s) => s.length))
  const out: Dim[] = []
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1
    for (const shape of known) {
      const d = shape[i - (rank - shape.length)]
      if (d === undefined || d === 1) continue
      dim = broadcastDim(where, dim, d, known)
    }
    out.push(dim)
  }
  return out
}

function broadcastDim(where: string, a: Dim, b: Dim, shapes: Shape[]): Dim {
  if (a === 1) return b
  if (a === b) return a
  if (typeof a === 'number' && typeof b === 'number') {
    throw new Error(`${where}: shapes ${shapes.map(formatShape).join(' and ')} do not broadcast`)
  }
  // A static size beats a symbol: the symbol must be that size or 1.
  if (typeof a === 'number') return a
  if (typeof b === 'number') return b
  return null
}

/** Resolves a possibly negative axis against `rank`. */
export function normalizeAxis(axis: number, rank: number, where: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new Error(`${where}: axis ${axis} is out of range for rank ${rank}`)
  }
  return axis < 0 ? axis + rank : axis
}

/** Number of elements when every dim is static, else null. */
export function staticNumel(shape: Shape | null): number | null {
  if (!isStaticShape(shape)) return null
  return shape.reduce((n, d) => n * d, 1)
}

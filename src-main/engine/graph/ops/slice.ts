import type { Dim, Shape } from '../shape'
import type { Tensor } from '../tensor'
import { int64Input, knownValues, normalizeAxes } from './common'

/** Ends at or beyond this mean "to the end of the axis" (the ONNX idiom is INT64_MAX). */
export const SLICE_TO_END = Number.MAX_SAFE_INTEGER

export type IntsOrTensor = readonly number[] | Tensor

/** x[starts:ends:steps] along `axes` (default: the first axes, in order), numpy clamping rules. */
export function slice(
  x: Tensor,
  starts: IntsOrTensor,
  ends: IntsOrTensor,
  axes?: IntsOrTensor,
  steps?: IntsOrTensor
): Tensor {
  const g = x.graph
  const inputs = [x, int64Input(g, starts), int64Input(g, ends)]
  if (axes !== undefined || steps !== undefined) {
    inputs.push(axes === undefined ? g.int64s(defaultAxes(inputs[1])) : int64Input(g, axes))
  }
  if (steps !== undefined) inputs.push(int64Input(g, steps))
  const params = sliceParams(x, inputs.slice(1))
  return g.node1({
    opType: 'Slice',
    inputs,
    outputs: [{ dtype: x.dtype, shape: params ? slicedShape(x.shape!, params) : null }]
  })
}

function defaultAxes(starts: Tensor): number[] {
  const n = starts.constValue?.length
  if (n === undefined) throw new Error('Slice: steps without axes needs constant starts')
  return Array.from({ length: n }, (_, i) => i)
}

/** One axis of a slice: the axis normalized, start and end as given (before clamping). */
export interface AxisSlice {
  axis: number
  start: number
  end: number
  step: number
}

/** The slice per axis when all parameters and the rank are known at build time. */
export function sliceParams(
  x: Tensor,
  [starts, ends, axes, steps]: (Tensor | undefined)[]
): AxisSlice[] | null {
  const s = knownValues(starts)
  const e = knownValues(ends)
  const a = axes ? knownValues(axes) : s?.map((_, i) => i)
  const st = steps ? knownValues(steps) : s?.map(() => 1)
  if (!s || !e || !a || !st || x.rank === null) return null
  if (s.length !== e.length || s.length !== a.length || s.length !== st.length) {
    throw new Error(`Slice: starts/ends/axes/steps of ${x.name} differ in length`)
  }
  const normalized = a.map((axis) => (axis < 0 ? axis + x.rank! : axis))
  normalizeAxes(normalized, x.rank, 'Slice')
  return normalized.map((axis, i) => ({ axis, start: s[i], end: e[i], step: st[i] }))
}

function slicedShape(shape: Shape, params: readonly AxisSlice[]): Shape {
  const out: Dim[] = [...shape]
  for (const { axis, start, end, step } of params) {
    const dim = shape[axis]
    if (typeof dim === 'number') {
      const [from, to] = clampRange(start, end, step, dim)
      out[axis] =
        step > 0 ? Math.max(Math.ceil((to - from) / step), 0) : Math.max(Math.ceil((from - to) / -step), 0)
    } else if (!(start === 0 && end >= SLICE_TO_END && step === 1)) {
      out[axis] = null
    }
  }
  return out
}

/** ONNX Slice clamping of start/end for one axis of size `dim`. */
export function clampRange(start: number, end: number, step: number, dim: number): [number, number] {
  const s = start < 0 ? start + dim : start
  const e = end < 0 ? end + dim : end
  if (step > 0) return [clamp(s, 0, dim), clamp(e, 0, dim)]
  return [clamp(s, 0, dim - 1), clamp(e, -1, dim - 1)]
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi)
}

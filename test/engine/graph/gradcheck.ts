/**
 * Finite-difference gradient checking for the graph DSL (a helper for the *.test.ts files here).
 *
 * For a case out = build(x…), the graph computes loss = Σ out · R, where R is a fixed
 * pseudo-random tensor shaped like out (sin(1.7·i + 0.3), built in-graph so cases need not state
 * their output shape), and appends gradients(loss, x…) followed by the Gemm pass, as training
 * does. The analytic gradient of each element is compared with the central difference
 * (L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h from the same session.
 */
import { expect } from 'vitest'
import type { DType } from '../../../src-main/engine/onnx/dtype'
import {
  add,
  cast,
  fuseTransposesIntoGemm,
  GraphBuilder,
  gradients,
  mul,
  range,
  reduceSum,
  reshape,
  shapeOf,
  sin,
  size,
  type Shape,
  type Tensor
} from '../../../src-main/engine/graph/index'
import { createSession, hostTensor, type HostTensor } from '../../../src-main/engine/runtime/session'
import { seededRandom } from '../../helpers/random'

export { seededRandom }

export interface InputSpec {
  name: string
  /** Actual dims fed at run time. */
  dims: number[]
  /** Dims declared in the graph (symbolic names exercise run-time shape paths); default `dims`. */
  declared?: Shape
  /** Default 'float64' (or the case dtype). */
  dtype?: DType
  /** Values; default uniform in [-1, 1) from the case's seeded generator. */
  values?: number[]
  /** Differentiate with respect to this input (default: true for floats). */
  wrt?: boolean
}

export interface GradCase {
  name: string
  inputs: InputSpec[]
  build: (g: GraphBuilder, ...xs: Tensor[]) => Tensor
  /** Element type of float inputs without an explicit dtype; default 'float64'. */
  dtype?: 'float64' | 'float32'
  /** Default: float64 1e-6, float32 1e-2. */
  rtol?: number
  /** Default: float64 1e-8, float32 1e-3. */
  atol?: number
  /** Finite-difference step; default float64 1e-6, float32 1e-3. */
  h?: number
  seed?: number
  /** Op types the built graph (forward + backward) must / must not contain: pins the gradient path. */
  ops?: { present?: string[]; absent?: string[] }
}

export const FLOAT64_TOLERANCE = { rtol: 1e-6, atol: 1e-8, h: 1e-6 }
export const FLOAT32_TOLERANCE = { rtol: 1e-2, atol: 1e-3, h: 1e-3 }

/** The fixed weighting tensor R, shaped like `out`. */
function weightsLike(out: Tensor): Tensor {
  const count = cast(size(out), out.dtype)
  const index = range(0, count, 1)
  return reshape(sin(add(mul(index, 1.7), 0.3)), shapeOf(out), out.shape)
}

export interface GradCheckResult {
  /** max |analytic − numeric| over all checked elements. */
  maxAbsError: number
  checked: number
  analytic: Record<string, HostTensor>
}

export async function checkGradients(c: GradCase): Promise<GradCheckResult> {
  const caseDtype = c.dtype ?? 'float64'
  const defaults = caseDtype === 'float64' ? FLOAT64_TOLERANCE : FLOAT32_TOLERANCE
  const rtol = c.rtol ?? defaults.rtol
  const atol = c.atol ?? defaults.atol
  const h = c.h ?? defaults.h
  const random = seededRandom(c.seed ?? 1234)

  const g = new GraphBuilder(`gradcheck ${c.name}`)
  const specs = c.inputs.map((s) => ({ ...s, dtype: s.dtype ?? caseDtype }))
  const xs = specs.map((s) => g.input(s.name, s.dtype, s.declared ?? s.dims))
  const out = c.build(g, ...xs)
  const forwardEnd = g.nodes.length
  const weights = weightsLike(out)
  // The weighting nodes are the harness's own, not the case's.
  const harnessNodes = new Set(g.nodes.slice(forwardEnd))
  const loss = reduceSum(mul(out, weights), undefined, { keepDims: false })
  const wrt = specs
    .map((s, i) => ({ spec: s, x: xs[i] }))
    .filter(({ spec }) => spec.wrt ?? isFloat(spec.dtype))
  const grads = gradients(
    loss,
    wrt.map((w) => w.x)
  )
  fuseTransposesIntoGemm(g)
  const caseNodes = g.nodes.filter((n) => !harnessNodes.has(n))
  const opTypes = new Set(caseNodes.map((n) => n.opType))
  for (const t of c.ops?.present ?? [])
    expect(opTypes.has(t), `${c.name}: graph should contain ${t}`).toBe(true)
  for (const t of c.ops?.absent ?? [])
    expect(opTypes.has(t), `${c.name}: graph should not contain ${t}`).toBe(false)
  g.output(loss, 'loss')
  grads.forEach((gr, i) => g.output(gr, `grad_${wrt[i].spec.name}`))

  const session = await createSession(g.toBytes(), { intraOpThreads: 1 })
  try {
    const feeds: Record<string, HostTensor> = {}
    for (const s of specs) feeds[s.name] = makeFeed(s, random)
    const base = await session.run(feeds)
    let maxAbsError = 0
    let checked = 0
    for (const { spec } of wrt) {
      const analytic = base[`grad_${spec.name}`]
      expect(analytic.dims, `${c.name}: gradient dims of ${spec.name}`).toEqual(spec.dims)
      const x = feeds[spec.name].data as Float64Array | Float32Array
      for (let i = 0; i < x.length; i++) {
        const original = x[i]
        const lossAt = async (v: number) => {
          const perturbed = x.slice()
          perturbed[i] = v
          const r = await session.run(
            { ...feeds, [spec.name]: hostTensor(spec.dtype, spec.dims, perturbed) },
            ['loss']
          )
          return (r.loss.data as Float64Array)[0]
        }
        const numeric = ((await lossAt(original + h)) - (await lossAt(original - h))) / (2 * h)
        const value = (analytic.data as Float64Array)[i]
        const error = Math.abs(value - numeric)
        maxAbsError = Math.max(maxAbsError, error)
        checked++
        if (!(error <= atol + rtol * Math.abs(numeric))) {
          throw new Error(
            `${c.name}: d loss / d ${spec.name}[${i}] analytic ${value} vs numeric ${numeric} ` +
              `(|error| ${error.toExponential(2)} > atol ${atol} + rtol ${rtol}·|numeric|)`
          )
        }
      }
    }
    return { maxAbsError, checked, analytic: base }
  } finally {
    await session.release()
  }
}

function isFloat(dtype: DType): boolean {
  return dtype === 'float64' || dtype === 'float32' || dtype === 'float16'
}

function makeFeed(spec: InputSpec & { dtype: DType }, random: () => number): HostTensor {
  const count = spec.dims.reduce((n, d) => n * d, 1)
  const values = spec.values ?? Array.from({ length: count }, () => random() * 2 - 1)
  if (values.length !== count)
    throw new Error(`input ${spec.name}: ${values.length} values for dims ${spec.dims}`)
  switch (spec.dtype) {
    case 'float64':
      return hostTensor('float64', spec.dims, Float64Array.from(values))
    case 'float32':
      return hostTensor('float32', spec.dims, Float32Array.from(values))
    case 'int64':
      return hostTensor('int64', spec.dims, BigInt64Array.from(values.map((v) => BigInt(v))))
    case 'bool':
      return hostTensor('bool', spec.dims, Uint8Array.from(values))
    default:
      throw new Error(`input ${spec.name}: dtype ${spec.dtype} is not supported by gradcheck`)
  }
}

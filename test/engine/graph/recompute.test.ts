import { describe, expect, test } from 'vitest'
import * as op from '../../../src-main/engine/graph/index'
import { GraphBuilder, gradients, type GraphNode, type Tensor } from '../../../src-main/engine/graph/index'
import { rmsNorm, silu } from '../../../src-main/engine/models/blocks'
import { Rng } from '../../../src-main/engine/rng'
import { hostTensor, type HostTensor } from '../../../src-main/engine/runtime/session'
import { runGraph } from '../../helpers/run-graph'

const E = 8
const LAYERS = 3
const rng = Rng.fromSeed(7)
const random = (n: number) => Float32Array.from({ length: n }, () => rng.uniform(-0.5, 0.5))
const weights = Array.from({ length: LAYERS }, () => random(E * E))
const norms = Array.from({ length: LAYERS }, () => random(E))
const input = random(2 * 5 * E)

/**
 * A small residual network in the shape of the decoder's layers: norm, projection by a frozen
 * matrix (stored as float16 when `half`, decoded in a read segment) with a trainable scale, SiLU.
 */
function build(options: { checkpoint: boolean; half: boolean }) {
  const g = new GraphBuilder('residual')
  const x0 = g.input('x', 'float32', ['batch', 'seq', E])
  const scales = norms.map((_, i) => g.input(`scale${i}`, 'float32', [E]))
  const matrix = (i: number): Tensor => {
    if (!options.half) return g.initializer(`w${i}`, 'float32', [E, E], weights[i])
    const stored = g.initializer(`w${i}`, 'float16', [E, E], float16Bits(weights[i]))
    return g.recomputedOnRead(() => op.cast(stored, 'float32'))
  }
  const layer = (x: Tensor, i: number) => {
    const h = rmsNorm(x, scales[i], 1e-5)
    const rows = op.reshape(h, [-1, E])
    const y = op.reshape(op.gemm(rows, matrix(i), null, { transB: true }), op.shape(x), x.shape)
    return op.add(x, silu(y))
  }
  let x = x0
  for (let i = 0; i < LAYERS; i++) x = options.checkpoint ? g.checkpoint(() => layer(x, i)) : layer(x, i)
  const loss = op.reduceSum(op.mul(x, x), undefined, { keepDims: false })
  g.output(loss, 'loss')
  const grads = gradients(loss, scales)
  grads.forEach((grad, i) => g.output(grad, `dscale${i}`))
  return g
}

/** float32 → binary16 bits, rounding to nearest even (values here are small and normal). */
function float16Bits(values: Float32Array): Uint16Array {
  const view = new DataView(new ArrayBuffer(4))
  return Uint16Array.from(values, (v) => {
    view.setFloat32(0, v)
    const bits = view.getUint32(0)
    const sign = (bits >>> 16) & 0x8000
    const exponent = ((bits >>> 23) & 0xff) - 127 + 15
    const mantissa = bits & 0x7fffff
    let half = sign | (exponent << 10) | (mantissa >>> 13)
    const rest = mantissa & 0x1fff
    if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half += 1
    return half
  })
}

async function run(g: GraphBuilder) {
  const feeds: Record<string, HostTensor> = { x: hostTensor('float32', [2, 5, E], input) }
  norms.forEach((n, i) => (feeds[`scale${i}`] = hostTensor('float32', [E], n)))
  const out = await runGraph(g, feeds)
  return Object.fromEntries(
    Object.entries(out).map(([name, t]) => [name, Array.from(t.data as Float32Array)])
  )
}

function expectClose(actual: Record<string, number[]>, expected: Record<string, number[]>) {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort())
  for (const [name, values] of Object.entries(expected)) {
    values.forEach((v, i) =>
      expect(Math.abs(actual[name][i] - v)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v)))
    )
  }
}

/** Nodes after the loss (the backward pass) that read a value computed before it. */
function backwardReads(g: GraphBuilder): Set<Tensor> {
  const lossAt = g.nodes.findIndex((n) => n.outputs.some((t) => t.name === 'loss'))
  const forward = new Set<Tensor>(g.nodes.slice(0, lossAt + 1).flatMap((n: GraphNode) => n.outputs))
  return new Set(
    g.nodes.slice(lossAt + 1).flatMap((n) => n.inputs.filter((t): t is Tensor => !!t && forward.has(t)))
  )
}

describe('recomputed segments', () => {
  // Not bit for bit: onnxruntime fuses the forward pass differently once nothing in a layer is
  // kept for the backward pass (e.g. the norm becomes one fused kernel), which moves the last bits.
  test('checkpointed layers give the same loss and gradients', async () => {
    const kept = await run(build({ checkpoint: false, half: false }))
    const recomputed = await run(build({ checkpoint: true, half: false }))
    expectClose(recomputed, kept)
    expect(kept.dscale0.some((v) => v !== 0)).toBe(true)
  })

  test('the backward pass reads only what flows between checkpointed layers', () => {
    const g = build({ checkpoint: true, half: false })
    const layerOutputs = new Set(g.segments.map((s) => [...s.nodes].at(-1)!.outputs[0]))
    const reads = [...backwardReads(g)].filter((t) => t.kind === 'node')
    // The layers' outputs (the residual stream) and the loss's own inputs, nothing inside a layer.
    const inside = reads.filter(
      (t) => g.segments.some((s) => s.nodes.has(t.producer!)) && !layerOutputs.has(t)
    )
    expect(inside).toEqual([])
    expect(reads.length).toBeGreaterThan(0)
  })

  test('a frozen matrix decoded in a read segment is decoded again where the backward pass needs it', async () => {
    const g = build({ checkpoint: false, half: true })
    const decoded = g.segments.filter((s) => s.kind === 'read').map((s) => [...s.nodes][0].outputs[0])
    expect(decoded).toHaveLength(LAYERS)
    for (const t of backwardReads(g)) expect(decoded).not.toContain(t)
    const casts = g.nodes.filter((n) => n.opType === 'Cast' && n.inputs[0]?.dtype === 'float16')
    expect(casts.length).toBe(2 * LAYERS) // forward + backward: a stored copy is never kept decoded
    expectClose(await run(g), await run(build({ checkpoint: true, half: true })))
  })

  test('replays are gated: none is a copy onnxruntime could merge into the forward pass', () => {
    const g = build({ checkpoint: true, half: true })
    const signature = (n: GraphNode) =>
      `${n.opType}|${n.inputs.map((t) => t?.name).join(',')}|${JSON.stringify(n.attrs)}`
    const lossAt = g.nodes.findIndex((n) => n.outputs.some((t) => t.name === 'loss'))
    const forward = new Set(g.nodes.slice(0, lossAt + 1).map(signature))
    const copies = g.nodes.slice(lossAt + 1).filter((n) => forward.has(signature(n)))
    expect(copies.map((n) => n.name)).toEqual([])
    expect(g.nodes.slice(lossAt + 1).filter((n) => n.opType === 'Slice').length).toBeGreaterThan(0)
  })
})

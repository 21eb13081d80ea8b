/**
 * Compositions (nn.ts) differentiated through their primitives, checked against central finite
 * differences in float64 (tolerances in gradcheck.ts: atol 1e-8, rtol 1e-6, h 1e-6), plus their
 * forward values against plain-JS references.
 */
import { describe, expect, test } from 'vitest'
import * as op from '../../../src-main/engine/graph/index'
import { GraphBuilder, type Tensor } from '../../../src-main/engine/graph/index'
import { createSession, hostTensor } from '../../../src-main/engine/runtime/session'
import { checkGradients, seededRandom } from './gradcheck'

function randoms(count: number, seed: number): number[] {
  const random = seededRandom(seed)
  return Array.from({ length: count }, () => random() * 2 - 1)
}

describe('nn compositions: gradients vs finite differences (float64)', () => {
  test('RMSNorm wrt x and weight', async () => {
    await checkGradients({
      name: 'rmsNorm',
      inputs: [
        { name: 'x', dims: [2, 4] },
        { name: 'w', dims: [4] }
      ],
      build: (_, x, w) => op.rmsNorm(x, w, 1e-5)
    })
  })

  test('SiLU', async () => {
    await checkGradients({ name: 'silu', inputs: [{ name: 'x', dims: [6] }], build: (_, x) => op.silu(x) })
  })

  test('linear with a constant weight: Gemm reading W transposed, rank-3 input, symbolic batch and seq', async () => {
    const w = Array.from({ length: 20 }, (_, i) => Math.sin(i))
    await checkGradients({
      name: 'linear constant weight',
      inputs: [
        { name: 'x', dims: [2, 3, 4], declared: ['batch', 'seq', 4] },
        { name: 'b', dims: [5] }
      ],
      build: (g, x, b) => op.linear(x, g.constant('float64', [5, 4], w), b),
      ops: { present: ['Gemm'], absent: ['Transpose', 'MatMul'] }
    })
  })

  test('linear with a weight fed at run time, wrt x, W and bias', async () => {
    await checkGradients({
      name: 'linear trainable weight',
      inputs: [
        { name: 'x', dims: [2, 3, 4], declared: ['batch', 'seq', 4] },
        { name: 'w', dims: [5, 4] },
        { name: 'b', dims: [5] }
      ],
      build: (_, x, w, b) => op.linear(x, w, b)
    })
  })

  test('softmax attention with a causal mask, wrt q, k, v', async () => {
    await checkGradients({
      name: 'attention',
      inputs: [
        { name: 'q', dims: [1, 2, 3, 4] },
        { name: 'k', dims: [1, 2, 3, 4] },
        { name: 'v', dims: [1, 2, 3, 4] }
      ],
      build: (_, q, k, v) => op.attention(q, k, v, { mask: op.causalMask(q, 2, 'float64') })
    })
  })

  test('attention with a run-time causal mask and grouped kv heads, symbolic batch and seq', async () => {
    await checkGradients({
      name: 'gqa attention',
      inputs: [
        { name: 'q', dims: [2, 4, 3, 2], declared: ['b', 4, 's', 2] },
        { name: 'k', dims: [2, 2, 3, 2], declared: ['b', 2, 's', 2] },
        { name: 'v', dims: [2, 2, 3, 2], declared: ['b', 2, 's', 2] }
      ],
      build: (_, q, k, v) => {
        const mask = op.causalMask(q, 2, 'float64')
        expect(mask.shape).toEqual(['s', 's'])
        return op.attention(q, op.repeatKvHeads(k, 2), op.repeatKvHeads(v, 2), { mask })
      },
      // every shape is known symbolically, so no gradient needs run-time broadcast axes
      ops: { absent: ['NonZero'] }
    })
  })

  test('rotary embedding wrt x, tables from int64 positions', async () => {
    await checkGradients({
      name: 'rope',
      inputs: [
        { name: 'x', dims: [1, 2, 3, 4], declared: ['b', 2, 's', 4] },
        { name: 'pos', dims: [1, 3], declared: ['b', 's'], dtype: 'int64', values: [0, 1, 2] }
      ],
      build: (_, x, pos) => {
        const { cos, sin } = op.rotaryTables(pos, op.ropeInverseFrequencies(4, 10000), 'float64')
        return op.applyRotary(x, op.unsqueeze(cos, [1]), op.unsqueeze(sin, [1]))
      }
    })
  })

  test('cross-entropy (LogSoftmax + GatherElements) with ignored labels, wrt logits', async () => {
    const result = await checkGradients({
      name: 'cross-entropy',
      inputs: [
        { name: 'logits', dims: [5, 7] },
        { name: 'labels', dims: [5], dtype: 'int64', values: [3, -100, 0, 6, -100] }
      ],
      build: (_, logits, labels) => op.crossEntropy(logits, labels).loss,
      ops: { absent: ['ScatterND'] }
    })
    const grad = result.analytic.grad_logits.data as Float64Array
    // Ignored rows (1 and 4) get exactly zero gradient.
    for (const row of [1, 4])
      expect(Array.from(grad.slice(row * 7, row * 7 + 7))).toEqual(new Array(7).fill(0))
  })
})

describe('a tiny Llama block with LoRA, end to end', () => {
  test('gradients wrt LoRA factors and embeddings match finite differences (float64)', async () => {
    const [hidden, heads, kvHeads, headDim, ff, vocab] = [4, 2, 1, 2, 6, 5]
    const constant = (g: GraphBuilder, dims: number[], seed: number) =>
      g.constant(
        'float64',
        dims,
        randoms(
          dims.reduce((n, d) => n * d, 1),
          seed
        ).map((v) => v * 0.7)
      )
    await checkGradients({
      name: 'llama block',
      inputs: [
        { name: 'embed', dims: [vocab, hidden] },
        { name: 'ids', dims: [2, 3], declared: ['batch', 'seq'], dtype: 'int64', values: [0, 3, 1, 4, 4, 2] },
        { name: 'labels', dims: [6], declared: ['tokens'], dtype: 'int64', values: [3, 1, -100, 4, 2, 0] },
        { name: 'pos', dims: [2, 3], declared: ['batch', 'seq'], dtype: 'int64', values: [0, 1, 2, 0, 1, 2] },
        { name: 'lora_a', dims: [2, hidden] },
        { name: 'lora_b', dims: [heads * headDim, 2] }
      ],
      build: (g, embed, ids, labels, pos, loraA, loraB) => {
        let x = op.gather(embed, ids) // (B, S, H)
        const h = op.rmsNorm(x, constant(g, [hidden], 1), 1e-6)
        const q = op.add(
          op.linear(h, constant(g, [heads * headDim, hidden], 2)),
          op.linear(op.linear(h, loraA), loraB)
        )
        const k = op.linear(h, constant(g, [kvHeads * headDim, hidden], 3))
        const v = op.linear(h, constant(g, [kvHeads * headDim, hidden], 4))
        const split = (t: Tensor, n: number) => op.transpose(op.reshape(t, [0, 0, n, headDim]), [0, 2, 1, 3]) // (B, n, S, D)
        const { cos, sin } = op.rotaryTables(pos, op.ropeInverseFrequencies(headDim, 10000), 'float64')
        const [c, s] = [op.unsqueeze(cos, [1]), op.unsqueeze(sin, [1])]
        const qr = op.applyRotary(split(q, heads), c, s)
        const kr = op.repeatKvHeads(op.applyRotary(split(k, kvHeads), c, s), heads / kvHeads)
        const att = op.attention(qr, kr, op.repeatKvHeads(split(v, kvHeads), heads / kvHeads), {
          mask: op.causalMask(ids, 1, 'float64')
        })
        x = op.add(
          x,
          op.linear(
            op.reshape(op.transpose(att, [0, 2, 1, 3]), [0, 0, hidden]),
            constant(g, [hidden, hidden], 5)
          )
        )
        const h2 = op.rmsNorm(x, constant(g, [hidden], 6), 1e-6)
        const gate = op.silu(op.linear(h2, constant(g, [ff, hidden], 7)))
        x = op.add(
          x,
          op.linear(op.mul(gate, op.linear(h2, constant(g, [ff, hidden], 8))), constant(g, [hidden, ff], 9))
        )
        const logits = op.reshape(op.linear(x, constant(g, [vocab, hidden], 10)), [-1, vocab])
        return op.crossEntropy(logits, labels).loss
      },
      ops: { absent: ['NonZero'] }
    })
  })
})

describe('nn compositions: forward values', () => {
  test('cross-entropy loss matches a JS reference and counts only non-ignored tokens', async () => {
    const g = new GraphBuilder('ce')
    const logits = g.input('logits', 'float64', ['n', 4])
    const labels = g.input('labels', 'int64', ['n'])
    const { loss, perToken, counted } = op.crossEntropy(logits, labels)
    g.output(loss, 'loss')
    g.output(perToken, 'per_token')
    g.output(counted, 'counted')
    const values = randoms(12, 3).map((v) => v * 3)
    const ids = [2, -100, 1]
    const session = await createSession(g.toBytes(), { intraOpThreads: 1 })
    const out = await session.run({
      logits: hostTensor('float64', [3, 4], Float64Array.from(values)),
      labels: hostTensor('int64', [3], BigInt64Array.from(ids.map(BigInt)))
    })
    await session.release()
    const nll = (row: number, label: number) => {
      const z = values.slice(row * 4, row * 4 + 4)
      const m = Math.max(...z)
      return -(z[label] - m - Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0)))
    }
    const expected = [nll(0, 2), 0, nll(2, 1)]
    const perTokenValues = Array.from(out.per_token.data as Float64Array)
    expected.forEach((e, i) => expect(perTokenValues[i]).toBeCloseTo(e, 12))
    expect(Array.from(out.counted.data as Float64Array)).toEqual([1, 0, 1])
    expect((out.loss.data as Float64Array)[0]).toBeCloseTo((expected[0] + expected[2]) / 2, 12)
  })

  test('causal mask allows key ≤ query only', async () => {
    const g = new GraphBuilder('mask')
    const x = g.input('x', 'float32', ['s'])
    g.output(op.causalMask(x, 0, 'float32'), 'mask')
    const session = await createSession(g.toBytes(), { intraOpThreads: 1 })
    const out = await session.run({ x: hostTensor('float32', [3], new Float32Array(3)) })
    await session.release()
    expect(out.mask.dims).toEqual([3, 3])
    expect(Array.from(out.mask.data as Float32Array)).toEqual([0, -1e9, -1e9, 0, 0, -1e9, 0, 0, 0])
  })

  test('rotary embedding rotates pairs (i, i + d/2) by position · frequency', async () => {
    const g = new GraphBuilder('rope')
    const x = g.input('x', 'float64', [1, 1, 2, 4])
    const pos = g.input('pos', 'int64', [1, 2])
    const invFreq = op.ropeInverseFrequencies(4, 100)
    const { cos, sin } = op.rotaryTables(pos, invFreq, 'float64')
    g.output(op.applyRotary(x, op.unsqueeze(cos, [1]), op.unsqueeze(sin, [1])), 'y')
    const xs = randoms(8, 5)
    const session = await createSession(g.toBytes(), { intraOpThreads: 1 })
    const out = await session.run({
      x: hostTensor('float64', [1, 1, 2, 4], Float64Array.from(xs)),
      pos: hostTensor('int64', [1, 2], BigInt64Array.from([3n, 7n]))
    })
    await session.release()
    const y = out.y.data as Float64Array
    ;[3, 7].forEach((p, row) => {
      for (let i = 0; i < 2; i++) {
        const angle = p * invFreq[i]
        const [a, b] = [xs[row * 4 + i], xs[row * 4 + i + 2]]
        expect(y[row * 4 + i]).toBeCloseTo(a * Math.cos(angle) - b * Math.sin(angle), 12)
        expect(y[row * 4 + i + 2]).toBeCloseTo(b * Math.cos(angle) + a * Math.sin(angle), 12)
      }
    })
  })
})

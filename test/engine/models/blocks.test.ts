/**
 * The decoder's building blocks (models/blocks.ts, models/rope.ts and llama.ts's masks) and the
 * decoder built from them, differentiated through their primitives and checked against central
 * finite differences in float64 (tolerances in gradcheck.ts: atol 1e-8, rtol 1e-6, h 1e-6), plus
 * their forward values against plain-JS references.
 */
import { describe, expect, test } from 'vitest'
import { parseModelConfig } from '../../../src-main/engine/checkpoint/hf-config'
import * as op from '../../../src-main/engine/graph/index'
import { GraphBuilder, type Tensor } from '../../../src-main/engine/graph/index'
import { groupedQueryAttention, linear, rmsNorm, silu } from '../../../src-main/engine/models/blocks'
import {
  causalBias,
  decoderForward,
  lmHead,
  paddedCausalBias,
  type DecoderWeights
} from '../../../src-main/engine/models/llama'
import {
  applyRotary,
  ropeInverseFrequencies,
  rotaryTables,
  type RopeConfig
} from '../../../src-main/engine/models/rope'
import { createSession, hostTensor } from '../../../src-main/engine/runtime/session'
import { checkGradients, seededRandom } from '../graph/gradcheck'

function randoms(count: number, seed: number): number[] {
  const random = seededRandom(seed)
  return Array.from({ length: count }, () => random() * 2 - 1)
}

const rope = (headDim: number, ropeTheta: number): RopeConfig => ({ headDim, ropeTheta, ropeScaling: null })

/** causalBias over the length of `x` along `axis`, nothing cached, in float64. */
function causalBias64(g: GraphBuilder, x: Tensor, axis: number): Tensor {
  const length = op.shape(x, axis, axis + 1)
  const dim = x.shape![axis]
  return op.cast(causalBias(g.int64s([0]), length, length, [dim, dim]), 'float64')
}

describe('decoder blocks: gradients vs finite differences (float64)', () => {
  test('RMSNorm wrt x and weight', async () => {
    await checkGradients({
      name: 'rmsNorm',
      inputs: [
        { name: 'x', dims: [2, 4] },
        { name: 'w', dims: [4] }
      ],
      build: (_, x, w) => rmsNorm(x, w, 1e-5)
    })
  })

  test('SiLU', async () => {
    await checkGradients({ name: 'silu', inputs: [{ name: 'x', dims: [6] }], build: (_, x) => silu(x) })
  })

  test('linear with a constant weight: Gemm reading W transposed, rank-3 input, symbolic batch and seq', async () => {
    const w = Array.from({ length: 20 }, (_, i) => Math.sin(i))
    await checkGradients({
      name: 'linear constant weight',
      inputs: [
        { name: 'x', dims: [2, 3, 4], declared: ['batch', 'seq', 4] },
        { name: 'b', dims: [5] }
      ],
      build: (g, x, b) => linear(x, g.constant('float64', [5, 4], w), b),
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
      build: (_, x, w, b) => linear(x, w, b)
    })
  })

  test('softmax attention with a causal mask, wrt q, k, v', async () => {
    await checkGradients({
      name: 'attention',
      inputs: [
        { name: 'q', dims: [1, 2, 1, 3, 4] },
        { name: 'k', dims: [1, 2, 3, 4] },
        { name: 'v', dims: [1, 2, 3, 4] }
      ],
      build: (g, q, k, v) => groupedQueryAttention(q, k, v, causalBias64(g, q, 3))
    })
  })

  test('attention with a run-time causal padding mask and grouped kv heads, symbolic batch and seq', async () => {
    await checkGradients({
      name: 'gqa attention',
      inputs: [
        { name: 'q', dims: [2, 2, 2, 3, 2], declared: ['b', 2, 2, 's', 2] },
        { name: 'k', dims: [2, 2, 3, 2], declared: ['b', 2, 's', 2] },
        { name: 'v', dims: [2, 2, 3, 2], declared: ['b', 2, 's', 2] },
        { name: 'mask', dims: [2, 3], declared: ['b', 's'], dtype: 'int64', values: [1, 1, 1, 1, 1, 0] }
      ],
      build: (_, q, k, v, mask) => {
        const bias = op.cast(paddedCausalBias(mask), 'float64')
        expect(bias.shape).toEqual(['b', 1, 1, 's', 's'])
        return groupedQueryAttention(q, k, v, bias)
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
        const { cos, sin } = rotaryTables(rope(4, 10000), pos, 'float64')
        return applyRotary(x, op.unsqueeze(cos, [1]), op.unsqueeze(sin, [1]))
      }
    })
  })
})

describe('a tiny Llama decoder with LoRA, end to end', () => {
  test('gradients wrt LoRA factors and embeddings match finite differences (float64)', async () => {
    const [hidden, heads, kvHeads, headDim, ff, vocab] = [4, 2, 1, 2, 6, 5]
    const config = parseModelConfig({
      architectures: ['LlamaForCausalLM'],
      hidden_size: hidden,
      intermediate_size: ff,
      num_hidden_layers: 1,
      num_attention_heads: heads,
      num_key_value_heads: kvHeads,
      vocab_size: vocab,
      rms_norm_eps: 1e-6,
      rope_theta: 10000
    })
    expect(config.headDim).toBe(headDim)
    await checkGradients({
      name: 'llama decoder',
      inputs: [
        { name: 'embed', dims: [vocab, hidden] },
        { name: 'ids', dims: [2, 3], declared: ['batch', 'seq'], dtype: 'int64', values: [0, 3, 1, 4, 4, 2] },
        {
          name: 'mask',
          dims: [2, 3],
          declared: ['batch', 'seq'],
          dtype: 'int64',
          values: [1, 1, 1, 1, 1, 1]
        },
        { name: 'pos', dims: [2, 3], declared: ['batch', 'seq'], dtype: 'int64', values: [0, 1, 2, 0, 1, 2] },
        { name: 'lora_a', dims: [2, hidden] },
        { name: 'lora_b', dims: [heads * headDim, 2] }
      ],
      build: (g, embed, ids, mask, pos, loraA, loraB) => {
        let seed = 1
        const weights: DecoderWeights = {
          param: (name, dims) =>
            name === 'model.embed_tokens.weight'
              ? embed
              : g.constant(
                  'float64',
                  dims,
                  randoms(
                    dims.reduce((n, d) => n * d, 1),
                    seed++
                  ).map((v) => v * 0.7)
                ),
          linear: (name, x, weight, bias) => {
            const y = linear(x, weight, bias ?? undefined)
            return name.endsWith('.q_proj') ? op.add(y, linear(linear(x, loraA), loraB)) : y
          }
        }
        const { hidden: h } = decoderForward(config, weights, {
          inputIds: ids,
          positions: pos,
          attentionBias: op.cast(paddedCausalBias(mask), 'float64')
        })
        return op.logSoftmax(lmHead(config, weights, h), -1) // (B, S, V)
      },
      ops: { absent: ['NonZero'] }
    })
  })
})

describe('decoder blocks: forward values', () => {
  test('causal mask allows key ≤ query only', async () => {
    const g = new GraphBuilder('mask')
    const x = g.input('x', 'float32', ['s'])
    const length = op.shape(x, 0, 1)
    g.output(causalBias(g.int64s([0]), length, length), 'mask')
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
    const invFreq = ropeInverseFrequencies(rope(4, 100))
    const { cos, sin } = rotaryTables(rope(4, 100), pos, 'float64')
    g.output(applyRotary(x, op.unsqueeze(cos, [1]), op.unsqueeze(sin, [1])), 'y')
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

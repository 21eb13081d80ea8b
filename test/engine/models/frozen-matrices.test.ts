import { describe, expect, test } from 'vitest'
import { decodeTensor, encodeTensor } from '../../../src-main/engine/export/gguf-quant'
import { GraphBuilder } from '../../../src-main/engine/graph/index'
import { BASE_PRECISIONS } from '../../../src-main/engine/models/base-precision'
import {
  decodeFrozenMatrix,
  decodeInGraph,
  encodeFrozenMatrix
} from '../../../src-main/engine/models/frozen-matrices'
import { Rng } from '../../../src-main/engine/rng'
import { createSession, hostTensor, type HostTensor } from '../../../src-main/engine/runtime/session'

const rng = Rng.fromSeed(3)
/** Values with a spread like a model's, a few large ones, and one all-zero row (scale 0). */
function matrix(rows: number, cols: number): Float32Array {
  const values = Float32Array.from({ length: rows * cols }, () => rng.uniform(-0.05, 0.05))
  values[5] = 0.9
  values[cols + 7] = -1.3
  values.fill(0, 2 * cols, 3 * cols)
  return values
}

async function decodeWithOnnxruntime(
  precision: (typeof BASE_PRECISIONS)[number],
  values: Float32Array,
  rows: number,
  cols: number,
  ids?: number[]
) {
  const stored = encodeFrozenMatrix(precision, values, rows, cols)
  const g = new GraphBuilder('decode')
  const parts = stored.parts.map((part, i) => g.initializer(`part${i}`, part.dtype, part.dims, part.data))
  const idTensor = ids ? g.input('ids', 'int64', [ids.length]) : undefined
  g.output(decodeInGraph(stored, parts, idTensor), 'decoded')
  const session = await createSession(g.toBytes(), { intraOpThreads: 1 })
  try {
    const feeds: Record<string, HostTensor> = {}
    if (ids) feeds.ids = hostTensor('int64', [ids.length], BigInt64Array.from(ids, BigInt))
    const out = await session.run(feeds)
    return { stored, decoded: out.decoded.data as Float32Array, dims: out.decoded.dims }
  } finally {
    await session.release()
  }
}

describe.each(BASE_PRECISIONS.map((precision) => ({ precision })))(
  'a frozen matrix stored as $precision',
  ({ precision }) => {
    // 40 columns: not whole blocks of 32, so the padding and its removal are exercised.
    for (const cols of [64, 40]) {
      test(`${cols} columns: the graph decodes exactly what the stored form holds`, async () => {
        const values = matrix(6, cols)
        const { stored, decoded, dims } = await decodeWithOnnxruntime(precision, values, 6, cols)
        expect(dims).toEqual([6, cols])
        const expected = decodeFrozenMatrix(stored)
        expect(Buffer.from(decoded.buffer).equals(Buffer.from(expected.buffer))).toBe(true)
        const worst = decoded.reduce((m, v, i) => Math.max(m, Math.abs(v - values[i])), 0)
        const bound = { fp32: 0, fp16: 1e-3, bf16: 1e-2, int8: 0.02, int4: 0.2 }[precision]
        expect(worst).toBeLessThanOrEqual(bound)
        if (precision !== 'fp32') expect(worst).toBeGreaterThan(0)
      })
    }

    test('looking up rows decodes just those rows', async () => {
      const values = matrix(6, 40)
      const { stored, decoded, dims } = await decodeWithOnnxruntime(precision, values, 6, 40, [4, 0, 4])
      expect(dims).toEqual([3, 40])
      const all = decodeFrozenMatrix(stored)
      const expected = Float32Array.from([4, 0, 4].flatMap((r) => [...all.subarray(r * 40, r * 40 + 40)]))
      expect(Array.from(decoded)).toEqual(Array.from(expected))
    })
  }
)

test('int8 and int4 store GGUF Q8_0 and Q4_0 blocks (int4 with its nibbles paired in order), decoded as ggml decodes them', () => {
  const values = matrix(3, 64)
  for (const [precision, type] of [
    ['int8', 'Q8_0'],
    ['int4', 'Q4_0']
  ] as const) {
    const stored = encodeFrozenMatrix(precision, values, 3, 64)
    expect(stored.parts.map((p) => p.dims)).toEqual([
      [3, 2],
      [3, 2, precision === 'int8' ? 32 : 16]
    ])
    expect(Array.from(decodeFrozenMatrix(stored))).toEqual(
      Array.from(decodeTensor(type, encodeTensor(type, values)))
    )
  }
})

/**
 * otr's in-graph sampling, run in onnxruntime: the tokens drawn follow the model's distribution,
 * the same seed draws the same tokens and another seed others, and a model sure of the gold token
 * hits it with every sample.
 */
import { describe, expect, test } from 'vitest'
import { GraphBuilder } from '../../src-main/engine/graph/index'
import { createSession, hostTensor } from '../../src-main/engine/runtime/session'
import { buildLossContext } from '../../src-main/engine/train/loss-context'
import { resolveRecipeParams } from '../../src-main/recipes/index'
import { otr } from '../../src-main/recipes/otr'

const V = 4
const POSITIONS = 2001
const SAMPLES = 16

interface Draw {
  loss: number
  hitRate: number
}

/**
 * otr's loss on one row of POSITIONS positions that all have the distribution softmax(logits) and
 * the gold token `gold`, sampled with `seed`.
 */
async function drawOtr(logits: readonly number[], gold: number, seed: number): Promise<Draw> {
  const g = new GraphBuilder('otr-sampling')
  const ctx = buildLossContext(
    otr,
    {
      logits: g.input('logits', 'float32', [1, POSITIONS, V]),
      labels: g.input('labels', 'int64', [1, POSITIONS]),
      lossWeights: g.input('loss_weights', 'float32', [1, POSITIONS]),
      sampleWeights: g.input('sample_weights', 'float32', [1]),
      randomSeed: g.input('seed', 'int64', [])
    },
    resolveRecipeParams('otr', { samples: SAMPLES })
  )
  const { loss, metrics } = otr.loss(ctx)
  g.output(loss, 'loss')
  g.output(metrics!.hit_rate, 'hit_rate')
  const session = await createSession(g.toBytes(), { intraOpThreads: 1 })
  try {
    const out = await session.run({
      logits: hostTensor(
        'float32',
        [1, POSITIONS, V],
        Float32Array.from({ length: POSITIONS * V }, (_, i) => logits[i % V])
      ),
      // the first column has no target (labels are shifted left by one)
      labels: hostTensor(
        'int64',
        [1, POSITIONS],
        BigInt64Array.from({ length: POSITIONS }, (_, t) => (t === 0 ? -100n : BigInt(gold)))
      ),
      loss_weights: hostTensor('float32', [1, POSITIONS], new Float32Array(POSITIONS).fill(1)),
      sample_weights: hostTensor('float32', [1], Float32Array.of(1)),
      seed: hostTensor('int64', [], BigInt64Array.of(BigInt(seed)))
    })
    return { loss: Number(out.loss.data[0]), hitRate: Number(out.hit_rate.data[0]) }
  } finally {
    await session.release()
  }
}

const PROBABILITIES = [0.1, 0.2, 0.3, 0.4]
const LOGITS = PROBABILITIES.map(Math.log)

describe('otr sampling in the graph', () => {
  test('samples hit the gold token as often as the model gives it probability', async () => {
    // 2000 positions × 16 samples: the hit rate's standard deviation is below 0.003
    for (const gold of [0, 3]) {
      const { hitRate } = await drawOtr(LOGITS, gold, 7)
      expect(Math.abs(hitRate - PROBABILITIES[gold]), `gold ${gold}: hit rate ${hitRate}`).toBeLessThan(0.015)
    }
  })

  test('the same seed draws the same tokens, another seed others', async () => {
    const first = await drawOtr(LOGITS, 3, 11)
    expect(await drawOtr(LOGITS, 3, 11)).toEqual(first)
    expect((await drawOtr(LOGITS, 3, 12)).loss).not.toBe(first.loss)
  })

  test('a model sure of the gold token hits it with every sample, at a loss of −log p', async () => {
    const { loss, hitRate } = await drawOtr([0, 0, 20, 0], 2, 3)
    expect(hitRate).toBe(1)
    expect(loss).toBeCloseTo(Math.log(1 + 3 * Math.exp(-20)), 6)
  })
})

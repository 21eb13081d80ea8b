/**
 * The batch cycle of recipes that train each batch for several updates (update-cycle.ts): a batch is
 * taken once per cycle, later updates see the first one's log-probs in the loss's alignment, and
 * the boundaries fall where a new batch starts. The trainer's use of it is checked against PyTorch
 * in golden-grpo-iterations.test.ts.
 */
import { describe, expect, test } from 'vitest'
import type { TrainingBatch } from '../../../src-main/engine/train/batches'
import type { LossHook } from '../../../src-main/engine/train/loss-hook'
import type { StepResult } from '../../../src-main/engine/train/step-program'
import {
  predictingAligned,
  UpdateCycle,
  updatesPerBatch,
  type CycleBatch
} from '../../../src-main/engine/train/update-cycle'

/** A cycle batch of one micro-batch of 2 rows × 3 columns (only the shape is read). */
function cycleBatch(epoch: number): CycleBatch {
  return { epoch, microBatches: [{ rows: 2, columns: 3 } as TrainingBatch], rollouts: null }
}

/** A step result whose label-aligned log-probs are row 0: [0, −1, −2], row 1: [0, −3, −4]. */
const result = {
  loss: 0,
  gradNorm: 0,
  tokens: 4,
  metrics: {},
  tokenLogProbs: [Float32Array.of(0, -1, -2, 0, -3, -4)]
}

describe('update cycle', () => {
  test('moves label-aligned log-probs back a column, the last column 0', () => {
    expect([...predictingAligned(Float32Array.of(0, -1, -2, 0, -3, -4), 3)]).toEqual([-1, -2, 0, -3, -4, 0])
  })

  test('takes a batch once per cycle and hands updates 2…μ the first one’s log-probs', async () => {
    const cycle = new UpdateCycle(3)
    const taken: CycleBatch[] = []
    const take = async () => {
      taken.push(cycleBatch(taken.length))
      return taken.at(-1)!
    }
    const seen = []
    for (let step = 0; step < 4; step++) {
      expect(cycle.atBoundary, `boundary before step ${step + 1}`).toBe(step % 3 === 0)
      const { batch, updates } = await cycle.next(take)
      seen.push([
        batch.epoch,
        updates[0].index,
        updates[0].firstTokenLogProbs && [...updates[0].firstTokenLogProbs]
      ])
      cycle.finish(batch, result as StepResult)
    }
    expect(seen).toEqual([
      [0, 1, null],
      [0, 2, [-1, -2, 0, -3, -4, 0]],
      [0, 3, [-1, -2, 0, -3, -4, 0]],
      [1, 1, null]
    ])
  })

  test('one update per batch keeps nothing: every step is a boundary', async () => {
    const cycle = new UpdateCycle(1)
    const { batch } = await cycle.next(async () => cycleBatch(0))
    cycle.finish(batch, { ...result, tokenLogProbs: undefined } as StepResult)
    expect(cycle.atBoundary).toBe(true)
  })

  test.each([0, 1.5])('refuses a recipe’s updatesPerBatch of %s, naming the recipe', (updates) => {
    const hook = { name: 'reuser', updatesPerBatch: () => updates } as unknown as LossHook
    expect(() => updatesPerBatch({ hook, params: {} })).toThrow(
      `recipe reuser: updatesPerBatch must be an integer ≥ 1, got ${updates}`
    )
  })
})

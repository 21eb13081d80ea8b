/**
 * The uds recipe: its choice on fixed statistics, the rows a step trains, and a real run on
 * stories260K that keeps its memory in the recipe state and resumes bit-identically.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { Generator } from '../../src-main/engine/infer/generation'
import { collateRows } from '../../src-main/engine/train/batches'
import { batchRows } from '../../src-main/engine/train/batch-selection'
import type { CandidateStatistic } from '../../src-main/engine/train/run-hooks'
import { train, type TrainEvent } from '../../src-main/engine/train/trainer'
import { resolveRecipe } from '../../src-main/recipes/index'
import {
  candidateScores,
  meanDistance,
  nuclearNorm,
  SKETCH_DIM,
  sketchMatrix,
  topCandidates,
  uds,
  type UdsParams
} from '../../src-main/recipes/uds'
import { recipeRunConfig, savedRecipeState, stepEvents as steps } from '../helpers/recipe-run'
import { STORIES_260K, tempDir } from '../helpers/temp'

const PARAMS: UdsParams = { keep_fraction: 0.5, diversity_weight: 1, memory_size: 3 }

/** Statistics of rows whose trained sketch rows are `rows[b]` (each SKETCH_DIM long, zero-padded). */
function statisticsOf(rows: number[][][], columns: number): Record<string, CandidateStatistic> {
  const sketch = new Float32Array(rows.length * columns * SKETCH_DIM)
  const mask = new Float32Array(rows.length * columns)
  rows.forEach((trained, b) =>
    trained.forEach((values, t) => {
      mask[b * columns + t] = 1
      sketch.set(values, (b * columns + t) * SKETCH_DIM)
    })
  )
  return {
    sketch: { shape: [rows.length, columns, SKETCH_DIM], data: sketch },
    mask: { shape: [rows.length, columns], data: mask }
  }
}

const unit = (j: number, scale: number) => Array.from({ length: SKETCH_DIM }, (_, k) => (k === j ? scale : 0))

describe('uds selection', () => {
  test('the nuclear norm sums the singular values', () => {
    expect(
      nuclearNorm(
        [
          [3, 0],
          [0, 4]
        ],
        2
      )
    ).toBeCloseTo(7, 12)
    expect(
      nuclearNorm(
        [
          [1, 1],
          [1, 1]
        ],
        2
      )
    ).toBeCloseTo(2, 12) // rank 1, σ = 2
    expect(
      nuclearNorm(
        [
          [1, 2],
          [3, 4],
          [5, 6]
        ],
        2
      )
    ).toBeCloseTo(9.52551809 + 0.51430058, 7)
  })

  test('utility and feature come from the trained positions only', () => {
    const statistics = statisticsOf([[unit(0, 3), unit(1, 4)], [unit(2, 2)]], 3)
    const [first, second] = candidateScores(statistics)
    expect(first.utility).toBeCloseTo(7, 12)
    expect(first.feature).toEqual(unit(0, 1.5).map((x, j) => (j === 1 ? 2 : x)))
    expect(second.utility).toBeCloseTo(2, 12)
    expect(second.feature).toEqual(unit(2, 2))
  })

  test('keeps the top share by utility + α·distance to the memory, in row order', () => {
    const scores = [
      { utility: 1, feature: [0, 0] },
      { utility: 5, feature: [0, 0] },
      { utility: 2, feature: [10, 0] },
      { utility: 3, feature: [0, 0] }
    ]
    // An empty memory: utility alone, rows 1 and 3.
    expect(topCandidates(scores, [], PARAMS)).toEqual([1, 3])
    // Row 2 is 10 away from the memory: 2 + 10 beats 5 and 3.
    expect(meanDistance([10, 0], [[0, 0]])).toBe(10)
    expect(topCandidates(scores, [[0, 0]], PARAMS)).toEqual([1, 2])
    expect(topCandidates(scores, [[0, 0]], { ...PARAMS, keep_fraction: 0.01 })).toEqual([2])
  })

  test('choose returns the rows and appends their features to a bounded memory', () => {
    const statistics = statisticsOf([[unit(0, 1)], [unit(0, 9)], [unit(1, 4)], [unit(0, 2)]], 1)
    const first = uds.selectBatch!.choose({ memory: [unit(3, 1), unit(3, 2)] }, statistics, PARAMS)
    expect(first.rows).toEqual([1, 2])
    expect(first.state).toEqual({ memory: [unit(3, 2), unit(0, 9), unit(1, 4)] })
  })

  test('batchRows takes whole rows and recounts the tokens and loss weights', () => {
    const examples = [3, 5, 2].map((n, i) => ({
      line: i + 1,
      inputIds: Int32Array.from({ length: n }, (_, t) => 10 * i + t + 1),
      labels: Int32Array.from({ length: n }, (_, t) => (t === 0 ? -100 : 10 * i + t + 1)),
      weights: Float32Array.from({ length: n }, (_, t) => (t === 0 ? 0 : 0.5 * t))
    }))
    const batch = collateRows([[0], [1], [2]], examples)
    // Row 1 is the widest, so the chosen rows collate to the candidates' columns.
    expect(batchRows(batch, [1, 0])).toEqual(collateRows([[1], [0]], examples))
  })
})

const temp = tempDir('fs-uds-')
afterAll(() => temp.cleanup())

const ROW_IDS = Array.from({ length: 8 }, (_, i) =>
  Array.from({ length: 5 + (i % 3) }, (_, t) => 1 + ((29 * (i + 1) + 13 * t) % 500))
)

function writeRows(): void {
  const rows = ROW_IDS.map((ids) => ({ input_ids: ids, labels: [-100, ...ids.slice(1)] }))
  writeFileSync(join(temp.dir, 'train.jsonl'), rows.map((row) => JSON.stringify(row)).join('\n') + '\n')
}

const UDS = { name: 'uds', params: { keep_fraction: 0.5, diversity_weight: 0.01, memory_size: 5 } }
const config = (outDir: string, resumeFrom?: string, settings: object = {}) =>
  recipeRunConfig(temp.dir, outDir, UDS, { batchSize: 4, seed: 3, resumeFrom, ...settings })
const savedState = (outDir: string, step: number) =>
  savedRecipeState(temp.dir, outDir, step) as { memory: number[][] }

test('uds trains half of each candidate batch, keeps a bounded memory, and resumes bit-identically', async () => {
  writeRows()
  const full: TrainEvent[] = []
  await train(config('full'), { resolveRecipe, onEvent: (e) => void full.push(e) })
  const fullSteps = steps(full)
  expect(fullSteps).toHaveLength(6)
  // 2 of 4 rows train: 2 rows of 4–6 trained tokens each.
  for (const event of fullSteps) expect(event.trainedTokens).toBeLessThanOrEqual(12)
  expect(savedState('full', 3).memory).toHaveLength(5)
  expect(savedState('full', 6).memory).toHaveLength(5)

  const resumed: TrainEvent[] = []
  await train(config('resumed', join(temp.dir, 'full', 'checkpoints', 'step-3')), {
    resolveRecipe,
    onEvent: (e) => void resumed.push(e)
  })
  const got = steps(resumed)
  expect(got.map((e) => e.step)).toEqual([4, 5, 6])
  got.forEach((event, i) => {
    const expected = fullSteps[3 + i]
    expect(Object.is(event.loss, expected.loss)).toBe(true)
    expect(Object.is(event.gradNorm, expected.gradNorm)).toBe(true)
    expect(event.tokens).toBe(expected.tokens)
  })
  expect(savedState('resumed', 6)).toEqual(savedState('full', 6))
}, 120_000)

/** Each row's sketch utility and feature from the inference engine's logits, one position at a time. */
async function independentScores(): Promise<{ utility: number; feature: number[] }[]> {
  const generator = await Generator.open({ modelDir: STORIES_260K }, { cacheDir: join(temp.dir, 'cache') })
  try {
    const vocab = 512
    const sketch = sketchMatrix(vocab)
    const scores = []
    for (const ids of ROW_IDS) {
      let cache = generator.emptyCache()
      const sketched: number[][] = []
      // Positions 0 … n−2 predict the trained tokens 1 … n−1.
      for (const id of ids.slice(0, -1)) {
        const out = await generator.step([id], cache)
        cache = out.cache
        sketched.push(
          Array.from({ length: SKETCH_DIM }, (_, j) =>
            out.logits.reduce((sum, x, v) => sum + x * sketch[v * SKETCH_DIM + j], 0)
          )
        )
      }
      const feature = Array.from(
        { length: SKETCH_DIM },
        (_, j) => sketched.reduce((sum, row) => sum + row[j], 0) / sketched.length
      )
      scores.push({ utility: nuclearNorm(sketched, SKETCH_DIM), feature })
    }
    return scores
  } finally {
    await generator.release()
  }
}

test('the first step keeps the candidates whose logits score highest, as the inference engine computes them', async () => {
  writeRows()
  await train(config('first', undefined, { batchSize: 8, maxSteps: 1, shuffle: false }), { resolveRecipe })
  const scores = await independentScores()
  const expected = topCandidates(scores, [], { keep_fraction: 0.5, diversity_weight: 0, memory_size: 5 })
  const memory = savedState('first', 1).memory
  expect(memory).toHaveLength(4)
  memory.forEach((feature, i) =>
    feature.forEach((x, j) => expect(x).toBeCloseTo(scores[expected[i]].feature[j], 3))
  )
}, 120_000)

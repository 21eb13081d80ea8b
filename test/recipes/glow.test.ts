/**
 * The glow recipe in a real run on stories260K: its loss history lives in the recipe state, the
 * weights start in the second epoch, and a run resumed from a checkpoint is bit-identical.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { train, type TrainEvent } from '../../src-main/engine/train/trainer'
import { resolveRecipe } from '../../src-main/recipes/index'
import { recipeRunConfig, savedRecipeState, stepEvents as steps } from '../helpers/recipe-run'
import { tempDir } from '../helpers/temp'

const temp = tempDir('fs-glow-')
afterAll(() => temp.cleanup())

/** Four pre-tokenized rows (stories260K has 512 tokens), the first token untrained. */
function writeRows(): string {
  const path = join(temp.dir, 'train.jsonl')
  const rows = Array.from({ length: 4 }, (_, i) => {
    const ids = Array.from({ length: 6 + i }, (_, t) => 1 + ((37 * (i + 1) + 11 * t) % 500))
    return { input_ids: ids, labels: [-100, ...ids.slice(1)] }
  })
  writeFileSync(path, rows.map((row) => JSON.stringify(row)).join('\n') + '\n')
  return path
}

const config = (outDir: string, resumeFrom?: string) =>
  recipeRunConfig(
    temp.dir,
    outDir,
    { name: 'glow', params: { alpha: 2 } },
    { batchSize: 2, seed: 5, resumeFrom }
  )

test('glow weighs samples from the second epoch on, keeps their losses by line, and resumes bit-identically', async () => {
  writeRows()
  const full: TrainEvent[] = []
  await train(config('full'), { resolveRecipe, onEvent: (e) => void full.push(e) })
  const fullSteps = steps(full)

  // Four rows in batches of 2: steps 1–2 are epoch 0 (weight 1), steps 3–6 epochs 1 and 2.
  expect(fullSteps.map((e) => e.epoch)).toEqual([0, 0, 1, 1, 2, 2])
  const weights = fullSteps.map((e) => e.perSample!.values.weight)
  expect(weights.slice(0, 2).flat()).toEqual([1, 1, 1, 1])
  expect(
    weights
      .slice(2)
      .flat()
      .some((w) => w !== 1)
  ).toBe(true)
  for (const w of weights.flat()) expect(w).toBeGreaterThanOrEqual(0.5)

  // The state holds each line's loss of the last epoch (steps 5–6), as the step reported it; with no
  // data transform, example i of an epoch is line i + 1.
  const state = savedRecipeState(temp.dir, 'full', 6) as Record<string, number>
  const lastEpoch = fullSteps
    .slice(4)
    .flatMap((event) =>
      event.perSample!.rows.map((row, r) => [String(row[0] + 1), event.perSample!.values.loss[r]])
    )
  expect(Object.fromEntries(lastEpoch)).toEqual(state)
  expect(Object.keys(state).sort()).toEqual(['1', '2', '3', '4'])

  const resumed: TrainEvent[] = []
  const fromStep3 = join(temp.dir, 'full', 'checkpoints', 'step-3')
  await train(config('resumed', fromStep3), { resolveRecipe, onEvent: (e) => void resumed.push(e) })
  const expected = fullSteps.slice(3)
  const got = steps(resumed)
  expect(got.map((e) => e.step)).toEqual([4, 5, 6])
  got.forEach((event, i) => {
    expect(Object.is(event.loss, expected[i].loss)).toBe(true)
    expect(Object.is(event.gradNorm, expected[i].gradNorm)).toBe(true)
    expect(event.perSample).toEqual(expected[i].perSample)
  })
  expect(savedRecipeState(temp.dir, 'resumed', 6)).toEqual(state)
}, 120_000)

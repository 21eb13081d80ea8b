/**
 * A recipe's run hooks in the trainer (engine/train/run-hooks.ts): data transforms derived per
 * epoch from the seed, and recipe state checkpointed so a resumed run is bit-identical.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { TRAINER_STATE_FILE } from '../../../src-main/engine/train/checkpoints'
import { readEpochData } from '../../../src-main/engine/train/epoch-data'
import type { LossHook, RecipeResolver, ResolvedRecipe } from '../../../src-main/engine/train/loss-hook'
import type { RecipeState } from '../../../src-main/engine/train/run-hooks'
import { resolveTrainConfig } from '../../../src-main/engine/train/train-config'
import { train, type TrainEvent } from '../../../src-main/engine/train/trainer'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { sft } from '../../../src-main/recipes/sft'
import { STORIES_260K, tempDir } from '../../helpers/temp'
import { fakeFactory } from './fake-program'

let temp: ReturnType<typeof tempDir>
beforeEach(() => {
  temp = tempDir('fs-run-hooks-')
})
afterEach(() => temp.cleanup())

/** Row i: ids [1, 10+i, 20+i, 30+i], the last three trained. */
function writeTokenRows(count: number): string {
  const path = join(temp.dir, 'train.jsonl')
  const rows = Array.from({ length: count }, (_, i) => ({
    input_ids: [1, 10 + i, 20 + i, 30 + i],
    labels: [-100, 10 + i, 20 + i, 30 + i]
  }))
  writeFileSync(path, rows.map((row) => JSON.stringify(row)).join('\n') + '\n')
  return path
}

/**
 * Masks one random input token per row and epoch, drops the rows whose second id is a multiple of 7
 * in odd epochs, and keeps a state that hangs on every step's loss and rows.
 */
const toy: LossHook = {
  ...sft,
  name: 'toy',
  transform: {
    level: 'token',
    apply: (example, ctx) => {
      const inputIds = Int32Array.from(example.inputIds)
      inputIds[1 + ctx.rng.int(inputIds.length - 1)] = ctx.maskTokenId + 40 + ctx.epoch
      const labels =
        ctx.epoch % 2 === 1 && example.inputIds[1] % 7 === 0 ? example.labels.fill(-100) : example.labels
      return { ...example, inputIds, labels }
    }
  },
  initialState: () => ({ steps: 0, lossSum: 0, lines: [] }),
  updateState: (state, report) => {
    const previous = state as { steps: number; lossSum: number; lines: RecipeState[] }
    return {
      steps: previous.steps + 1,
      lossSum: previous.lossSum + report.result.loss,
      lines: [...previous.lines, report.rowLines.flat(2)]
    }
  }
}

const withToy: RecipeResolver = (name, given) =>
  name === 'toy' ? { hook: toy, params: {} } : resolveRecipe(name, given)

function config(outDir: string, overrides: { resumeFrom?: string; recipe?: { name: string } } = {}) {
  return resolveTrainConfig(
    {
      modelDir: STORIES_260K,
      dataFile: join(temp.dir, 'train.jsonl'),
      outDir: join(temp.dir, outDir),
      adapter: { kind: 'full' },
      recipe: { name: 'toy' },
      lr: 0.5,
      lrScheduler: 'linear',
      batchSize: 2,
      maxSteps: 6,
      saveEvery: 3,
      shuffle: true,
      seed: 3,
      cacheDir: join(temp.dir, 'cache'),
      ...overrides
    },
    withToy
  )
}

const stepLosses = (events: TrainEvent[]) => events.flatMap((e) => (e.type === 'step' ? [e.loss] : []))
const savedState = (outDir: string, step: number) =>
  JSON.parse(readFileSync(join(temp.dir, outDir, 'checkpoints', `step-${step}`, TRAINER_STATE_FILE), 'utf8'))

describe('data transforms', () => {
  test('each epoch is derived from (seed, epoch, row): reproducible, different between epochs', () => {
    const file = writeTokenRows(8)
    const recipe: ResolvedRecipe = { hook: toy, params: {} }
    const options = { tokenizer: null, maxSeqLen: 16 }
    const first = readEpochData(file, options, recipe, 3)
    const again = readEpochData(file, options, recipe, 3)
    const ids = (data: typeof first, epoch: number) => data.epoch(epoch).examples.map((e) => [...e.inputIds])
    expect(ids(again, 0)).toEqual(ids(first, 0))
    expect(ids(first, 2)).not.toEqual(ids(first, 0))
    expect(ids(readEpochData(file, options, recipe, 4), 0)).not.toEqual(ids(first, 0))
    // Labels are untouched; exactly one input per row is masked.
    first.epoch(0).examples.forEach((example, i) => {
      expect([...example.labels]).toEqual([-100, 10 + i, 20 + i, 30 + i])
      expect([...example.inputIds].filter((id, t) => id !== [1, 10 + i, 20 + i, 30 + i][t])).toEqual([40])
    })
    // Odd epochs drop the rows whose second id is a multiple of 7 (row 4: 14), with the reason.
    expect(first.epoch(1).examples.map((e) => e.line)).toEqual([1, 2, 3, 4, 6, 7, 8])
    expect(first.epoch(1).dropped).toEqual([{ line: 5, reason: 'no trained tokens' }])
  })

  test('a conversation-level transform refuses rows that are not conversations, naming the line', () => {
    const file = writeTokenRows(2)
    const hook: LossHook = { ...sft, transform: { level: 'conversation', apply: (c) => c } }
    expect(() =>
      readEpochData(file, { tokenizer: null, maxSeqLen: 16 }, { hook, params: {} }, 0).epoch(0)
    ).toThrow(
      /recipe sft, epoch 0: line 1 of .*train\.jsonl: recipe sft rewrites conversations, and a pre-tokenized row is not one/
    )
  })
})

describe('recipe state', () => {
  test('is saved in every checkpoint, and a resumed run continues bit-identically', async () => {
    writeTokenRows(10)
    const full: TrainEvent[] = []
    await train(config('full'), {
      ...fakeFactory(),
      resolveRecipe: withToy,
      onEvent: (e) => void full.push(e)
    })
    expect(savedState('full', 3).recipeState.steps).toBe(3)

    const resumed: TrainEvent[] = []
    const fromStep3 = join(temp.dir, 'full', 'checkpoints', 'step-3')
    await train(config('resumed', { resumeFrom: fromStep3 }), {
      ...fakeFactory(),
      resolveRecipe: withToy,
      onEvent: (e) => void resumed.push(e)
    })
    // Six steps of 10 rows in batches of 2 cross into epoch 1, whose examples are derived anew.
    expect(stepLosses(resumed)).toEqual(stepLosses(full).slice(3))
    const expected = savedState('full', 6).recipeState
    expect(expected.steps).toBe(6)
    expect(expected.lossSum).toBe(stepLosses(full).reduce((a, b) => a + b, 0))
    expect(savedState('resumed', 6).recipeState).toEqual(expected)
  })

  test('plain recipes save a null state', async () => {
    writeTokenRows(4)
    await train(config('plain', { recipe: { name: 'sft' } }), fakeFactory())
    expect(savedState('plain', 6).recipeState).toBeNull()
  })
})

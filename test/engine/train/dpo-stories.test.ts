/**
 * DPO on ../shared/models/stories260K with a handful of synthetic preference pairs (a dragon named
 * Zob preferred over a girl named Lily, the base model's favourite): training raises the
 * chosen-vs-rejected margin on held-out pairs with prompts it never saw, and reports TRL's reward
 * metrics at every step.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Scorer } from '../../../src-main/engine/infer/scoring'
import { loadTokenizer } from '../../../src-main/engine/tokenizer/tokenizer'
import { readTrainingData, type ExampleTokens } from '../../../src-main/engine/train/data'
import type { TrainConfigInput } from '../../../src-main/engine/train/train-config'
import { train, type TrainEvent } from '../../../src-main/engine/train/trainer'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { STORIES_260K, tempDir } from '../../helpers/temp'
import { storiesConfig, writeJsonl } from './invented-stories'

const CHOSEN = ' dragon named Zob. Zob liked to fly over the hill.'
const REJECTED = ' girl named Lily. Lily liked to play with her toys.'
const pairs = (prompts: readonly string[]) =>
  prompts.map((prompt) => ({ prompt, chosen: CHOSEN, rejected: REJECTED }))
const TRAIN_PROMPTS = [
  'Once upon a time, there was a little',
  'One day, there was a little',
  'There was a little',
  'In a big forest lived a little',
  'Once upon a time, in a small town, there was a little',
  'Long ago, there lived a little',
  'On a sunny day, there was a little',
  'Once there was a happy little'
]
const HELD_OUT_PROMPTS = [
  'One morning, there was a little',
  'Near the big tree lived a little',
  'Once upon a time, a little'
]

const temp = tempDir('fs-dpo-stories-')
const cacheDir = join(temp.dir, 'cache')
let trainFile: string
let heldOutFile: string
beforeAll(() => {
  trainFile = writeJsonl(join(temp.dir, 'pairs.jsonl'), pairs(TRAIN_PROMPTS))
  heldOutFile = writeJsonl(join(temp.dir, 'held-out.jsonl'), pairs(HELD_OUT_PROMPTS))
})
afterAll(() => temp.cleanup())

function config(out: string, overrides: Partial<TrainConfigInput> = {}) {
  return storiesConfig(temp.dir, trainFile, out, {
    recipe: { name: 'dpo', params: { beta: '0.1', loss_type: 'sigmoid' } },
    ...overrides
  })
}

/** Mean over the held-out pairs of log p(chosen) − log p(rejected), base model or with an adapter. */
async function heldOutMargin(adapterDir?: string): Promise<number> {
  const { examples } = readTrainingData(heldOutFile, {
    tokenizer: loadTokenizer(STORIES_260K),
    maxSeqLen: 256
  })
  const row = (e: ExampleTokens) => ({ inputIds: [...e.inputIds], labels: [...e.labels] })
  const scorer = await Scorer.open({ modelDir: STORIES_260K, adapterDir }, { cacheDir, threads: 1 })
  try {
    const scores = await scorer.score(examples.flatMap((e) => [row(e), row(e.rejected!)]))
    let total = 0
    for (let i = 0; i < scores.length; i += 2) total += scores[i].logprob - scores[i + 1].logprob
    return total / examples.length
  } finally {
    await scorer.release()
  }
}

describe('dpo on stories260K', () => {
  const steps: Extract<TrainEvent, { type: 'step' }>[] = []
  let out: string
  beforeAll(async () => {
    const c = config('dpo', {
      adapter: { kind: 'lora', r: 8, alpha: 16, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] },
      lr: 5e-3,
      lrScheduler: 'constant',
      maxSteps: 12
    })
    out = c.outDir
    await train(c, { resolveRecipe, onEvent: (e) => void (e.type === 'step' && steps.push(e)) })
  })

  test('raises the chosen-vs-rejected margin on held-out pairs', async () => {
    const before = await heldOutMargin()
    const after = await heldOutMargin(out)
    console.info(
      `dpo on stories260K: held-out log p(chosen) − log p(rejected) ${before.toFixed(3)} → ${after.toFixed(3)}`
    )
    expect(after).toBeGreaterThan(before + 1)
  })

  test("reports TRL's reward metrics every step; the training margin grows from 0", () => {
    expect(steps).toHaveLength(12)
    for (const step of steps) {
      expect(Object.keys(step.metrics).sort()).toEqual([
        'rewards/accuracies',
        'rewards/chosen',
        'rewards/margins',
        'rewards/rejected'
      ])
      expect(step.metrics['rewards/margins']).toBeCloseTo(
        step.metrics['rewards/chosen'] - step.metrics['rewards/rejected'],
        5
      )
    }
    // A fresh LoRA adapter (B = 0) is the reference model: nothing to prefer before the first update.
    expect(steps[0].metrics['rewards/margins']).toBeCloseTo(0, 4)
    expect(steps[0].loss).toBeCloseTo(Math.log(2), 5)
    expect(steps.at(-1)!.metrics['rewards/margins']).toBeGreaterThan(0.1)
    expect(steps.at(-1)!.metrics['rewards/accuracies']).toBe(1)
  })

  test('refuses packing and a batch size that would split a pair; SFT on the same file trains the chosen side', () => {
    expect(() => config('packed', { packing: true })).toThrow(
      'train: recipe dpo trains on groups of 2 rows, which --packing would split; turn packing off'
    )
    expect(() => config('odd', { batchSize: 3 })).toThrow(
      'train: recipe dpo trains on groups of 2 rows: --batch-size must be a multiple of 2, got 3'
    )
    expect(config('sft', { recipe: { name: 'sft' }, packing: true }).recipe).toEqual({
      name: 'sft',
      params: {}
    })
  })

  test('a sample without a rejected response is refused with its line', async () => {
    const file = writeJsonl(join(temp.dir, 'unpaired.jsonl'), [
      ...pairs(TRAIN_PROMPTS.slice(0, 2)),
      { prompt: 'A', completion: ' b' }
    ])
    await expect(
      train(config('unpaired', { dataFile: file, maxSteps: 1 }), { resolveRecipe })
    ).rejects.toThrow('dpo: the sample from line 3 has no rejected response')
  })
})

/**
 * The trainer with the real step program on ../shared/models/stories260K: exact resume (bit for
 * bit on CPU), a diverging run stopping cleanly, and LoRA fine-tuning that lowers held-out loss
 * and exports an adapter (and merged model) that generation loads.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { readModelConfig } from '../../../src-main/engine/checkpoint/hf-config'
import { readLoraAdapter, readLoraConfig } from '../../../src-main/engine/checkpoint/peft'
import { openSafetensors } from '../../../src-main/engine/checkpoint/safetensors'
import { encodePrompt, Generator } from '../../../src-main/engine/infer/generation'
import { loadTokenizer } from '../../../src-main/engine/tokenizer/tokenizer'
import { findNonFinite, readCheckpoint } from '../../../src-main/engine/train/checkpoints'
import { createStepProgram } from '../../../src-main/engine/train/compile-step'
import type { TrainConfigInput } from '../../../src-main/engine/train/train-config'
import { train, TrainingDivergedError, type TrainEvent } from '../../../src-main/engine/train/trainer'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { STORIES_260K, tempDir } from '../../helpers/temp'
import {
  heldOutStories,
  INVENTED_NAME,
  STORY_PROMPT,
  storiesConfig,
  trainingStories,
  writeJsonl
} from './invented-stories'

const ALL_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']

const temp = tempDir('fs-trainer-stories-')
const cacheDir = join(temp.dir, 'cache')
let trainFile: string
let evalFile: string
beforeAll(() => {
  trainFile = writeJsonl(join(temp.dir, 'train.jsonl'), trainingStories())
  evalFile = writeJsonl(join(temp.dir, 'eval.jsonl'), heldOutStories())
})
afterAll(() => temp.cleanup())

function config(out: string, overrides: Partial<TrainConfigInput> = {}) {
  return storiesConfig(temp.dir, trainFile, out, overrides)
}

function stepEvents(events: TrainEvent[]) {
  return events.filter((e): e is Extract<TrainEvent, { type: 'step' }> => e.type === 'step')
}

describe.each([
  {
    name: 'LoRA with dropout, AdamW, cosine warmup, gradient accumulation',
    overrides: {
      adapter: {
        kind: 'lora' as const,
        r: 4,
        alpha: 8,
        dropout: 0.1,
        targets: ['q_proj', 'v_proj', 'down_proj']
      },
      lrScheduler: 'cosine' as const,
      warmupSteps: 1,
      gradAccum: 2,
      batchSize: 2,
      lr: 5e-3
    }
  },
  {
    name: 'full fine-tuning, SGD with momentum, linear schedule',
    overrides: {
      adapter: { kind: 'full' as const },
      optimizer: { kind: 'sgd' as const, momentum: 0.9 },
      lrScheduler: 'linear' as const,
      lr: 0.05
    }
  }
])('exact resume: $name', ({ name, overrides }) => {
  test('steps 4–6 after resuming from step 3 have bit-identical losses and end in identical tensors', async () => {
    const tag = name.split(' ')[0]
    const uninterrupted = config(`resume-${tag}-a`, {
      ...overrides,
      maxSteps: 6,
      saveEvery: 3,
      shuffle: true
    })
    const full: TrainEvent[] = []
    await train(uninterrupted, { resolveRecipe, onEvent: (e) => void full.push(e) })
    expect(readdirSync(join(uninterrupted.outDir, 'checkpoints')).sort()).toEqual(['step-3', 'step-6'])

    const resumed: TrainEvent[] = []
    const resumedConfig = {
      ...uninterrupted,
      outDir: join(temp.dir, `resume-${tag}-b`),
      resumeFrom: join(uninterrupted.outDir, 'checkpoints', 'step-3')
    }
    await train(resumedConfig, { resolveRecipe, onEvent: (e) => void resumed.push(e) })

    const expected = stepEvents(full).slice(3)
    const got = stepEvents(resumed)
    expect(got.map((e) => e.step)).toEqual([4, 5, 6])
    got.forEach((event, i) => {
      expect(Number.isFinite(event.loss)).toBe(true)
      expect(Object.is(event.loss, expected[i].loss)).toBe(true)
      expect(Object.is(event.gradNorm, expected[i].gradNorm)).toBe(true)
      expect(Object.is(event.lr, expected[i].lr)).toBe(true)
    })
    // The losses moved: the comparison is not between constants.
    expect(new Set(stepEvents(full).map((e) => e.loss)).size).toBe(6)

    const a = readCheckpoint(join(uninterrupted.outDir, 'checkpoints', 'step-6')).tensors
    const b = readCheckpoint(join(resumedConfig.outDir, 'checkpoints', 'step-6')).tensors
    for (const kind of ['params', 'optimizer'] as const) {
      expect([...b[kind].keys()]).toEqual([...a[kind].keys()])
      for (const [key, tensor] of a[kind]) {
        expect(Buffer.from(b[kind].get(key)!.data.buffer).equals(Buffer.from(tensor.data.buffer))).toBe(true)
      }
    }
  })
})

test('a diverging run stops with the step named and keeps its last good checkpoint loadable', async () => {
  // AdamW's first update moves every B entry by ~lr: with lr 1e36 the next forward overflows.
  const c = config('diverged', {
    adapter: { kind: 'lora', targets: ALL_TARGETS },
    lr: 1e36,
    lrScheduler: 'constant',
    maxGradNorm: 0,
    maxSteps: 6,
    saveEvery: 1
  })
  const events: TrainEvent[] = []
  const error = await train(c, { resolveRecipe, onEvent: (e) => void events.push(e) }).catch(
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(TrainingDivergedError)
  const { step, message } = error as TrainingDivergedError
  expect(step).toBeGreaterThanOrEqual(2)
  expect(message).toMatch(new RegExp(`step ${step}: the (loss|gradient norm) is (NaN|-?Infinity)`))
  const good = join(c.outDir, 'checkpoints', `step-${step - 1}`)
  expect(message).toContain(`The last good checkpoint is ${good}`)
  const saved = readdirSync(join(c.outDir, 'checkpoints')).sort()
  expect(saved).toEqual(Array.from({ length: step - 1 }, (_, k) => `step-${k + 1}`).sort())
  expect(stepEvents(events).map((e) => e.step)).toEqual(Array.from({ length: step - 1 }, (_, k) => k + 1))
  expect(readdirSync(c.outDir)).toEqual(['checkpoints']) // nothing exported

  // The last good checkpoint is complete, finite, and loads into a fresh program as it was saved.
  const checkpoint = readCheckpoint(good)
  expect(checkpoint.state.step).toBe(step - 1)
  expect(findNonFinite(checkpoint.tensors)).toBeNull()
  const program = await createStepProgram({
    modelDir: STORIES_260K,
    adapter: c.adapter,
    optimizer: c.optimizer,
    recipe: resolveRecipe(c.recipe.name, c.recipe.params),
    device: 'cpu',
    cacheDir,
    seed: c.seed,
    packed: false
  })
  try {
    program.importState(checkpoint.tensors)
    const loaded = program.exportState()
    for (const [name, tensor] of checkpoint.tensors.params) {
      expect(loaded.params.get(name)!.data).toEqual(tensor.data)
    }
    expect([...loaded.optimizer.keys()].sort()).toEqual([...checkpoint.tensors.optimizer.keys()].sort())
  } finally {
    await program.release()
  }
})

describe('LoRA fine-tuning on stories about an invented name', () => {
  const events: TrainEvent[] = []
  let c: ReturnType<typeof config>
  beforeAll(async () => {
    c = config('zob', {
      adapter: { kind: 'lora', r: 8, alpha: 16, targets: ALL_TARGETS },
      lr: 1e-2,
      lrScheduler: 'constant',
      maxSteps: 30,
      evalDataFile: evalFile,
      evalEvery: 10,
      mergeLora: true
    })
    await train(c, { resolveRecipe, onEvent: (e) => void events.push(e) })
  })

  test('lowers the held-out loss', () => {
    const evals = events.filter((e) => e.type === 'eval') as Extract<TrainEvent, { type: 'eval' }>[]
    expect(evals.map((e) => e.step)).toEqual([0, 10, 20, 30])
    expect(evals[3].loss).toBeLessThan(evals[0].loss * 0.8)
  })

  test('exports a PEFT adapter with PEFT key names that loads against the model', () => {
    const model = readModelConfig(STORIES_260K)
    const lora = readLoraConfig(c.outDir)
    expect(lora).toMatchObject({
      r: 8,
      loraAlpha: 16,
      targetModules: ALL_TARGETS,
      baseModelNameOrPath: STORIES_260K
    })
    const file = openSafetensors(join(c.outDir, 'adapter_model.safetensors'))
    try {
      expect(file.names()).toHaveLength(model.numLayers * ALL_TARGETS.length * 2)
      for (const name of file.names()) {
        expect(name).toMatch(
          /^base_model\.model\.model\.layers\.\d+\.(self_attn|mlp)\.[a-z]+_proj\.lora_[AB]\.weight$/
        )
      }
    } finally {
      file.close()
    }
    const adapter = readLoraAdapter(c.outDir, model)
    // Training moved B away from PEFT's zero initialisation.
    expect(adapter.modules.some((m) => m.b.some((v) => v !== 0))).toBe(true)
  })

  test('the adapter steers greedy generation to the invented name; the merged model generates the same', async () => {
    const tokenizer = loadTokenizer(STORIES_260K)
    const greedy = async (source: { modelDir: string; adapterDir?: string }) => {
      const generator = await Generator.open(source, { cacheDir, threads: 1 })
      try {
        const prompt = encodePrompt(tokenizer, generator.model.config, STORY_PROMPT)
        return (await generator.generate(prompt, tokenizer, { maxNewTokens: 24, temperature: 0 })).text
      } finally {
        await generator.release()
      }
    }
    const base = await greedy({ modelDir: STORIES_260K })
    const tuned = await greedy({ modelDir: STORIES_260K, adapterDir: c.outDir })
    const merged = await greedy({ modelDir: join(c.outDir, 'merged') })
    expect(base).not.toContain(INVENTED_NAME)
    expect(tuned).toContain(INVENTED_NAME)
    expect(merged).toBe(tuned)
  })

  test('--init-adapter starts from an adapter: its rank and targets win, and training continues from its weights', async () => {
    const from = config('zob-continued', {
      adapter: { kind: 'lora', r: 2, targets: ['q_proj'], initAdapterDir: c.outDir },
      lr: 1e-3,
      lrScheduler: 'constant',
      maxSteps: 1,
      evalDataFile: evalFile
    })
    const continued: TrainEvent[] = []
    await train(from, { resolveRecipe, onEvent: (e) => void continued.push(e) })
    expect(readLoraConfig(from.outDir)).toMatchObject({ r: 8, targetModules: ALL_TARGETS })
    const startLoss = (continued.find((e) => e.type === 'eval') as { loss: number }).loss
    const tunedLoss = (events.filter((e) => e.type === 'eval').at(-1) as { loss: number }).loss
    expect(startLoss).toBeCloseTo(tunedLoss, 5)
  })
})

/**
 * The trainer loop against a fake StepProgram: events and metrics, data order, schedule,
 * checkpoints (layout, atomicity, refusal of non-finite state), resume, NaN and cooperative stop.
 * test/engine/train/trainer-stories.test.ts runs the real step program.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import {
  OPTIMIZER_FILE,
  readCheckpoint,
  TRAIN_CONFIG_FILE,
  TRAINABLE_FILE,
  TRAINER_STATE_FILE
} from '../../../src-main/engine/train/checkpoints'
import { learningRateAt } from '../../../src-main/engine/train/schedule'
import { resolveTrainConfig, type TrainConfigInput } from '../../../src-main/engine/train/train-config'
import { train, TrainingDivergedError, type TrainEvent } from '../../../src-main/engine/train/trainer'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { STORIES_260K, tempDir } from '../../helpers/temp'
import { fakeFactory, FAKE_PARAM, FAKE_STATE } from './fake-program'

let temp: ReturnType<typeof tempDir>
beforeEach(() => {
  temp = tempDir('fs-trainer-')
})
afterEach(() => temp.cleanup())

/** Row i is pre-tokenized: ids [1, 10+i, 20+i, 30+i], the last three trained. */
function writeRows(count: number, name = 'train.jsonl'): string {
  const path = join(temp.dir, name)
  const rows = Array.from({ length: count }, (_, i) => ({
    input_ids: [1, 10 + i, 20 + i, 30 + i],
    labels: [-100, 10 + i, 20 + i, 30 + i]
  }))
  writeFileSync(path, rows.map((row) => JSON.stringify(row)).join('\n') + '\n')
  return path
}

function config(overrides: Partial<TrainConfigInput> = {}) {
  return resolveTrainConfig(
    {
      modelDir: STORIES_260K,
      dataFile: overrides.dataFile ?? writeRows(10),
      outDir: join(temp.dir, 'out'),
      adapter: { kind: 'full' },
      lr: 0.5,
      lrScheduler: 'constant',
      batchSize: 2,
      maxSteps: 4,
      shuffle: false,
      cacheDir: join(temp.dir, 'cache'),
      ...overrides
    },
    resolveRecipe
  )
}

function collect(): { events: TrainEvent[]; onEvent: (event: TrainEvent) => void } {
  const events: TrainEvent[] = []
  return { events, onEvent: (event) => void events.push(event) }
}

const stepsOf = (events: TrainEvent[]) => events.filter((e) => e.type === 'step')

describe('train with a fake step program', () => {
  test('emits one progress event per optimizer step and writes the metrics file', async () => {
    const metrics = join(temp.dir, 'metrics.jsonl')
    const { events, onEvent } = collect()
    const fake = fakeFactory()
    const result = await train(config({ metricsJsonl: metrics }), { ...fake, onEvent })
    expect(result.status).toBe('completed')
    const steps = stepsOf(events)
    expect(steps.map((e) => e.step)).toEqual([1, 2, 3, 4])
    for (const event of steps) {
      expect(event.totalSteps).toBe(4)
      expect(event.lr).toBe(0.5)
      expect(Number.isFinite(event.loss) && event.loss > 0).toBe(true)
      expect(Number.isFinite(event.gradNorm)).toBe(true)
      expect(event.tokens).toBe(8) // 2 rows × 4 tokens
      expect(event.trainedTokens).toBe(6)
      expect(event.tokensPerSecond).toBeGreaterThanOrEqual(0)
      expect(event.elapsedSeconds).toBeGreaterThanOrEqual(0)
      expect(event.etaSeconds).toBeGreaterThanOrEqual(0)
      expect(event.metrics.half_loss).toBeCloseTo(event.loss / 2, 6)
    }
    expect(steps.at(-1)!.etaSeconds).toBe(0)
    // SGD on a convex loss: the loss goes down.
    expect(steps[3].loss).toBeLessThan(steps[0].loss)

    const lines = readFileSync(metrics, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(lines).toHaveLength(4)
    lines.forEach((line, i) => {
      expect(Object.keys(line).sort()).toEqual(['grad_norm', 'loss', 'lr', 'step', 'tokens_per_s'])
      expect(line.step).toBe(i + 1)
      expect(line.loss).toBe(steps[i].loss)
      expect(line.grad_norm).toBe(steps[i].gradNorm)
      expect(line.lr).toBe(0.5)
    })
    expect(fake.programs[0].released).toBe(true)
  })

  test('--no-shuffle: batch k is rows k·B … k·B+B−1; a step never spans two epochs', async () => {
    const fake = fakeFactory()
    const result = await train(config({ maxSteps: null, epochs: 2, gradAccum: 2 }), fake)
    const calls = fake.programs[0].calls
    expect(calls.map((c) => c.microBatches)).toEqual([
      [
        [0, 1],
        [2, 3]
      ],
      [
        [4, 5],
        [6, 7]
      ],
      [[8, 9]],
      [
        [0, 1],
        [2, 3]
      ],
      [
        [4, 5],
        [6, 7]
      ],
      [[8, 9]]
    ])
    expect(result.totalSteps).toBe(6)
  })

  test('--pack lays several examples end to end in each row of at most --max-seq-len tokens', async () => {
    const fake = fakeFactory()
    const c = config({ packing: true, maxSeqLen: 8, batchSize: 2, maxSteps: 2 })
    await train(c, fake)
    expect(fake.programs[0].spec.packed).toBe(true)
    expect(fake.programs[0].calls.map((call) => call.rows)).toEqual([
      [
        [
          [0, 1],
          [2, 3]
        ]
      ],
      [
        [
          [4, 5],
          [6, 7]
        ]
      ]
    ])
  })

  test('shuffled order is seeded: the same seed gives the same batches, another seed others', async () => {
    const orderFor = async (seed: number) => {
      const fake = fakeFactory()
      await train(config({ shuffle: true, seed, maxSteps: 5 }), fake)
      return fake.programs[0].calls.map((c) => c.microBatches)
    }
    const first = await orderFor(7)
    expect(
      first
        .flat(2)
        .slice(0, 10)
        .sort((a, b) => a - b)
    ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(await orderFor(7)).toEqual(first)
    expect(await orderFor(8)).not.toEqual(first)
  })

  test('applies the schedule: lr per update from learningRateAt, 1-based step numbers, clipping threshold', async () => {
    const fake = fakeFactory()
    const c = config({ lrScheduler: 'cosine', warmupSteps: 2, maxSteps: 6, lr: 0.01, maxGradNorm: 0.25 })
    await train(c, fake)
    const schedule = { kind: 'cosine' as const, baseLr: 0.01, warmupSteps: 2, totalSteps: 6 }
    expect(fake.programs[0].calls.map((call) => call.scalars)).toEqual(
      [0, 1, 2, 3, 4, 5].map((k) => ({ lr: learningRateAt(schedule, k), step: k + 1, maxGradNorm: 0.25 }))
    )
    expect(fake.programs[0].calls[0].scalars.lr).toBe(0)
  })

  test('checkpoints every N steps and at the end, each a complete folder', async () => {
    const { events, onEvent } = collect()
    const fake = fakeFactory()
    const states: Float32Array[] = []
    const c = config({ maxSteps: 5, saveEvery: 2 })
    const result = await train(c, {
      ...fake,
      onEvent: (event) => {
        onEvent(event)
        if (event.type === 'checkpoint')
          states.push(fake.programs[0].exportState().params.get(FAKE_PARAM)!.data)
      }
    })
    const root = join(c.outDir, 'checkpoints')
    expect(readdirSync(root).sort()).toEqual(['step-2', 'step-4', 'step-5'])
    expect(events.filter((e) => e.type === 'checkpoint').map((e) => (e as { step: number }).step)).toEqual([
      2, 4, 5
    ])
    expect(result.lastCheckpoint).toBe(join(root, 'step-5'))
    for (const [i, step] of [2, 4, 5].entries()) {
      const dir = join(root, `step-${step}`)
      expect(readdirSync(dir).sort()).toEqual(
        [OPTIMIZER_FILE, TRAIN_CONFIG_FILE, TRAINABLE_FILE, TRAINER_STATE_FILE].sort()
      )
      const loaded = readCheckpoint(dir)
      expect(loaded.state.step).toBe(step)
      expect(loaded.state.totalSteps).toBe(5)
      expect(loaded.state.dataCursor).toEqual({
        epoch: step >= 5 ? 1 : 0,
        position: step >= 5 ? 0 : 2 * step
      })
      expect(loaded.state.schedule.nextIndex).toBe(step)
      expect(loaded.state.rng.seed).toBe(42)
      expect(loaded.state.configHash).toMatch(/^[0-9a-f]{64}$/)
      expect(loaded.state.logHistory.map((r) => r.step)).toEqual(
        Array.from({ length: step }, (_, k) => k + 1)
      )
      expect(loaded.state.trainableNames).toEqual([FAKE_PARAM])
      expect(loaded.tensors.params.get(FAKE_PARAM)!.data).toEqual(states[i])
      expect(loaded.tensors.optimizer.has(FAKE_STATE)).toBe(true)
      expect(JSON.parse(readFileSync(join(dir, TRAIN_CONFIG_FILE), 'utf8')).lr).toBe(0.5)
    }
  })

  test('also checkpoints at the benchmark steps, keeping the saveEvery ones', async () => {
    const { events, onEvent } = collect()
    const c = config({ maxSteps: 9, saveEvery: 3, benchmarkEvery: 2 })
    await train(c, { ...fakeFactory(), onEvent })
    expect(events.filter((e) => e.type === 'checkpoint').map((e) => (e as { step: number }).step)).toEqual([
      2, 3, 4, 6, 8, 9
    ])
  })

  test('a checkpoint that fails while being written leaves no folder behind', async () => {
    const fake = fakeFactory({
      // From step 4 on, an optimizer tensor whose values do not fit its shape: the second file fails.
      exportHook: (state, steps) =>
        steps < 4
          ? state
          : {
              ...state,
              optimizer: new Map([[FAKE_STATE, { shape: [65], data: state.optimizer.get(FAKE_STATE)!.data }]])
            }
    })
    const c = config({ maxSteps: 6, saveEvery: 2 })
    await expect(train(c, fake)).rejects.toThrow(/shape \[65\] holds 65 values, got 64/)
    expect(readdirSync(join(c.outDir, 'checkpoints'))).toEqual(['step-2'])
    expect(existsSync(join(c.outDir, 'model.safetensors'))).toBe(false)
  })

  test('resume continues with the same batches, learning rates and losses', async () => {
    const c = config({ maxSteps: 6, saveEvery: 3, shuffle: true, lrScheduler: 'linear', warmupSteps: 1 })
    const full = collect()
    await train(c, { ...fakeFactory(), onEvent: full.onEvent })

    const resumedOut = join(temp.dir, 'resumed')
    const metrics = join(temp.dir, 'resumed.jsonl')
    const again = collect()
    const fake = fakeFactory()
    const result = await train(
      {
        ...c,
        outDir: resumedOut,
        metricsJsonl: metrics,
        resumeFrom: join(c.outDir, 'checkpoints', 'step-3')
      },
      { ...fake, onEvent: again.onEvent }
    )
    expect(fake.programs[0].calls.map((call) => call.scalars.step)).toEqual([4, 5, 6])
    const resumedSteps = stepsOf(again.events)
    const fullSteps = stepsOf(full.events).slice(3)
    expect(resumedSteps.map((e) => e.step)).toEqual([4, 5, 6])
    resumedSteps.forEach((event, i) => {
      expect(Object.is(event.loss, fullSteps[i].loss)).toBe(true)
      expect(Object.is(event.lr, fullSteps[i].lr)).toBe(true)
    })
    expect(result.logHistory.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6])
    expect(again.events[0]).toMatchObject({ type: 'start', startStep: 3, totalSteps: 6 })
    // The metrics file of a resumed run holds the whole run: the checkpoint's steps, then the new ones.
    const lines = readFileSync(metrics, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(lines.map((line) => line.step)).toEqual([1, 2, 3, 4, 5, 6])
    expect(lines.map((line) => line.loss)).toEqual(stepsOf(full.events).map((e) => e.loss))
  })

  test('refuses to resume when a setting that changes the computation differs, naming it', async () => {
    const c = config({ maxSteps: 4, saveEvery: 2, lrScheduler: 'linear' })
    await train(c, fakeFactory())
    const from = join(c.outDir, 'checkpoints', 'step-2')
    await expect(train({ ...c, lr: 0.25, resumeFrom: from }, fakeFactory())).rejects.toThrow(
      /--lr differs \(the checkpoint has 0\.5, this run 0\.25\)/
    )
    await expect(train({ ...c, maxSteps: 8, resumeFrom: from }, fakeFactory())).rejects.toThrow(
      /--max-steps \/ --epochs differs/
    )
    await expect(
      train({ ...c, dataFile: writeRows(12, 'other.jsonl'), resumeFrom: from }, fakeFactory())
    ).rejects.toThrow(/--data differs/)
    // What does not change the computation may change; a step saved again replaces its folder.
    const before = readCheckpoint(join(c.outDir, 'checkpoints', 'step-4')).tensors.params.get(
      FAKE_PARAM
    )!.data
    const again = await train({ ...c, saveEvery: 1, resumeFrom: from }, fakeFactory())
    expect(again.step).toBe(4)
    expect(readdirSync(join(c.outDir, 'checkpoints')).sort()).toEqual(['step-2', 'step-3', 'step-4'])
    const replaced = join(c.outDir, 'checkpoints', 'step-4')
    expect(JSON.parse(readFileSync(join(replaced, TRAIN_CONFIG_FILE), 'utf8')).saveEvery).toBe(1)
    expect(readCheckpoint(replaced).tensors.params.get(FAKE_PARAM)!.data).toEqual(before)
  })

  test('a constant schedule can be resumed with more steps', async () => {
    const c = config({ maxSteps: 2 })
    await train(c, fakeFactory())
    const longer = await train(
      { ...c, maxSteps: 4, resumeFrom: join(c.outDir, 'checkpoints', 'step-2') },
      fakeFactory()
    )
    expect(longer.logHistory.map((r) => r.step)).toEqual([1, 2, 3, 4])
  })

  test('a non-finite loss stops the run at that step and keeps the last good checkpoint', async () => {
    const fake = fakeFactory({ lossAt: (step) => (step === 5 ? Number.NaN : undefined) })
    const { events, onEvent } = collect()
    const c = config({ maxSteps: 8, saveEvery: 2 })
    const error = await train(c, { ...fake, onEvent }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TrainingDivergedError)
    const diverged = error as TrainingDivergedError
    expect(diverged.step).toBe(5)
    expect(diverged.message).toContain('step 5: the loss is NaN')
    expect(diverged.message).toContain(join(c.outDir, 'checkpoints', 'step-4'))
    expect(readdirSync(join(c.outDir, 'checkpoints'))).toEqual(['step-2', 'step-4'])
    expect(stepsOf(events).map((e) => e.step)).toEqual([1, 2, 3, 4])
    expect(readCheckpoint(join(c.outDir, 'checkpoints', 'step-4')).state.step).toBe(4)
    expect(fake.programs[0].released).toBe(true)
  })

  test('never writes a checkpoint holding non-finite values', async () => {
    const fake = fakeFactory({
      exportHook: (state, steps) => {
        if (steps === 2) state.params.get(FAKE_PARAM)!.data[3] = Number.POSITIVE_INFINITY
        return state
      }
    })
    const c = config({ maxSteps: 3, saveEvery: 1 })
    await expect(train(c, fake)).rejects.toThrow(/step 2: tensor "model.norm.weight" holds Infinity/)
    expect(readdirSync(join(c.outDir, 'checkpoints'))).toEqual(['step-1'])
  })

  test('a cooperative stop ends at a step boundary with a checkpoint and no export', async () => {
    const stop = new AbortController()
    const fake = fakeFactory()
    const c = config({ maxSteps: 10 })
    const result = await train(c, {
      ...fake,
      signal: stop.signal,
      onEvent: (event) => {
        if (event.type === 'step' && event.step === 3) stop.abort()
      }
    })
    expect(result.status).toBe('stopped')
    expect(result.step).toBe(3)
    expect(fake.programs[0].calls).toHaveLength(3)
    expect(result.lastCheckpoint).toBe(join(c.outDir, 'checkpoints', 'step-3'))
    expect(readCheckpoint(result.lastCheckpoint!).state.dataCursor).toEqual({ epoch: 0, position: 6 })
    expect(result.exported).toBeNull()
    expect(existsSync(join(c.outDir, 'model.safetensors'))).toBe(false)
    // …and the run continues from there to the end.
    const rest = await train({ ...c, resumeFrom: result.lastCheckpoint }, fakeFactory())
    expect(rest.status).toBe('completed')
    expect(rest.step).toBe(10)
  })

  test('held-out loss is measured before training, every N steps and at the end', async () => {
    const { events, onEvent } = collect()
    const c = config({ maxSteps: 5, evalDataFile: writeRows(3, 'eval.jsonl'), evalEvery: 2 })
    const result = await train(c, { ...fakeFactory(), onEvent })
    expect(result.evalHistory.map((r) => r.step)).toEqual([0, 2, 4, 5])
    expect(result.evalHistory.every((r) => r.tokens === 9)).toBe(true)
    expect(result.evalHistory.at(-1)!.loss).toBeLessThan(result.evalHistory[0].loss)
    expect(events.filter((e) => e.type === 'eval')).toHaveLength(4)
  })

  test('full fine-tuning exports an HF model folder with the trained tensor and the tokenizer', async () => {
    const fake = fakeFactory()
    const c = config({ maxSteps: 2 })
    const result = await train(c, fake)
    expect(result.exported?.kind).toBe('full')
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
      expect(existsSync(join(c.outDir, file))).toBe(true)
    }
    const { openSafetensors } = await import('../../../src-main/engine/checkpoint/safetensors')
    const exported = openSafetensors(join(c.outDir, 'model.safetensors'))
    const base = openSafetensors(join(STORIES_260K, 'model.safetensors'))
    try {
      expect(exported.readFloat32(FAKE_PARAM)).toEqual(
        fake.programs[0].exportState().params.get(FAKE_PARAM)!.data
      )
      expect(exported.readFloat32('model.embed_tokens.weight')).toEqual(
        base.readFloat32('model.embed_tokens.weight')
      )
      expect(exported.names().sort()).toEqual(base.names().sort())
    } finally {
      exported.close()
      base.close()
    }
  })
})

describe('recipes that train on groups of rows', () => {
  /** Pair i: chosen ids [1, 10+i, 20+i], rejected [1, 50+i, 60+i]. */
  function writePairs(count: number): string {
    const side = (a: number, b: number) => ({ input_ids: [1, a, b], labels: [-100, a, b] })
    const rows = Array.from({ length: count }, (_, i) => ({
      chosen: side(10 + i, 20 + i),
      rejected: side(50 + i, 60 + i)
    }))
    const path = join(temp.dir, 'pairs.jsonl')
    writeFileSync(path, rows.map((row) => JSON.stringify(row)).join('\n') + '\n')
    return path
  }

  test('dpo: every batch holds whole pairs, chosen then rejected, in a shuffled pair order', async () => {
    const fake = fakeFactory()
    const c = config({
      dataFile: writePairs(5),
      recipe: { name: 'dpo' },
      batchSize: 4,
      shuffle: true,
      maxSteps: 6
    })
    await train(c, fake)
    const calls = fake.programs[0].calls
    const epochs = [calls.slice(0, 3), calls.slice(3, 6)].map((epoch) =>
      epoch.flatMap((call) => call.microBatches[0])
    )
    for (const rows of epochs) {
      expect([...rows].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      for (let r = 0; r < rows.length; r += 2) expect([rows[r] % 2, rows[r + 1]]).toEqual([0, rows[r] + 1])
    }
    expect(epochs[0]).not.toEqual(epochs[1])
    expect(calls.map((call) => call.microBatches[0].length)).toEqual([4, 4, 2, 4, 4, 2])
  })

  test("the step event carries the recipe's per-sample outputs, row by row", async () => {
    const fake = fakeFactory()
    const createProgram: typeof fake.createProgram = async (spec) => {
      const program = await fake.createProgram(spec)
      const step = program.step.bind(program)
      program.step = async (microBatches, scalars) => ({
        ...(await step(microBatches, scalars)),
        perSample: { first: microBatches.map((b) => Float32Array.from(b.examples, (row) => row[0] * 10)) }
      })
      return program
    }
    const { events, onEvent } = collect()
    await train(config({ gradAccum: 2, maxSteps: 2 }), { ...fake, createProgram, onEvent })
    const steps = stepsOf(events) as Extract<TrainEvent, { type: 'step' }>[]
    expect(steps[0].perSample).toEqual({ rows: [[0], [1], [2], [3]], values: { first: [0, 10, 20, 30] } })
    expect(steps[1].perSample).toEqual({ rows: [[4], [5], [6], [7]], values: { first: [40, 50, 60, 70] } })
  })
})

/**
 * Pipelines on the real stories260K: two stages on one step timeline, the second starting from the
 * first's result, and exact resume wherever the run is stopped — inside a stage and at the boundary.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import {
  knownStageSpans,
  resolvePipelineConfig,
  stageDir,
  stageOfCheckpoint,
  trainPipeline,
  type PipelineConfig
} from '../../../src-main/engine/train/pipeline'
import { TRAIN_CONFIG_FILE } from '../../../src-main/engine/train/checkpoints'
import type { TrainConfigInput } from '../../../src-main/engine/train/train-config'
import { train, type TrainEvent } from '../../../src-main/engine/train/trainer'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { STORIES_260K, tempDir } from '../../helpers/temp'
import { heldOutStories, trainingStories, writeJsonl } from './invented-stories'

const temp = tempDir('fs-pipeline-')
afterAll(() => temp.cleanup())
const cacheDir = join(temp.dir, 'cache')
const data = writeJsonl(join(temp.dir, 'stories.jsonl'), trainingStories())
const otherData = writeJsonl(join(temp.dir, 'held-out.jsonl'), heldOutStories())

function stageInput(overrides: Partial<TrainConfigInput>): TrainConfigInput {
  return {
    modelDir: STORIES_260K,
    dataFile: data,
    outDir: temp.dir,
    cacheDir,
    batchSize: 4,
    seed: 5,
    adapter: { kind: 'lora', r: 4, alpha: 8, targets: ['q_proj', 'v_proj'] },
    ...overrides
  }
}

/** SFT for 3 steps, then DFT on other stories for 2 steps at another learning rate. */
function pipeline(out: string, adapter?: TrainConfigInput['adapter'], resumeFrom: string | null = null) {
  const shared = adapter ? { adapter } : {}
  return resolvePipelineConfig(
    {
      outDir: join(temp.dir, out),
      stages: [
        stageInput({ ...shared, maxSteps: 3, lr: 1e-2 }),
        stageInput({ ...shared, dataFile: otherData, recipe: { name: 'dft' }, maxSteps: 2, lr: 5e-3 })
      ],
      resumeFrom
    },
    resolveRecipe
  )
}

async function run(config: PipelineConfig, stopAfterStep?: number) {
  const events: TrainEvent[] = []
  const controller = new AbortController()
  const result = await trainPipeline(config, {
    resolveRecipe,
    signal: controller.signal,
    onEvent: (event) => {
      events.push(event)
      if (event.type === 'step' && event.step === stopAfterStep) controller.abort()
    }
  })
  return { result, events, steps: events.filter((e) => e.type === 'step') }
}

const adapterBytes = (dir: string) => readFileSync(join(dir, 'adapter_model.safetensors'))

describe('a two-stage pipeline', () => {
  let whole: Awaited<ReturnType<typeof run>>
  const config = pipeline('whole')

  test('numbers the steps of both stages on one timeline and tags each start with its stage', async () => {
    whole = await run(config)
    expect(whole.result.status).toBe('completed')
    expect(whole.steps.map((e) => e.step)).toEqual([1, 2, 3, 4, 5])
    const starts = whole.events.filter((e) => e.type === 'start')
    expect(starts.map((e) => [e.stage, e.startStep, e.totalSteps])).toEqual([
      [1, 0, 3],
      [2, 3, 5]
    ])
    const checkpoints = whole.events.filter((e) => e.type === 'checkpoint')
    expect(checkpoints.map((e) => e.step)).toEqual([3, 5])
    expect(checkpoints[0].dir).toBe(join(stageDir(config.outDir, 0, 2), 'checkpoints', 'step-3'))
    expect(stageOfCheckpoint(config, checkpoints[1].dir)).toBe(1)
    expect(whole.result.exported?.dir).toBe(config.outDir)
    expect(knownStageSpans(config)).toEqual([{ stage: 1, fromStep: 0, totalSteps: 3 }])
  })

  test('the second stage starts from the first stage’s adapter with its own recipe and rate', async () => {
    const firstAdapter = stageDir(config.outDir, 0, 2)
    const alone = await train(
      {
        ...config.stages[1],
        outDir: join(temp.dir, 'stage-2-alone'),
        adapter: { ...config.stages[1].adapter, initAdapterDir: firstAdapter } as never
      },
      { resolveRecipe }
    )
    const stageTwo = whole.result.logHistory.filter((record) => record.step > 3)
    expect(alone.logHistory.map((r) => [r.loss, r.lr])).toEqual(stageTwo.map((r) => [r.loss, r.lr]))
    expect(stageTwo[0].lr).toBe(5e-3)
    expect(adapterBytes(join(temp.dir, 'stage-2-alone')).equals(adapterBytes(config.outDir))).toBe(true)
  })

  test.each([
    ['inside the first stage', 2],
    ['at the boundary between the stages', 3],
    ['inside the second stage', 4]
  ])('stopped %s, it resumes to the uninterrupted bits', async (_, stopAt) => {
    const out = `stopped-${stopAt}`
    const first = await run(pipeline(out), stopAt)
    expect(first.result.status).toBe('stopped')
    expect(first.result.step).toBe(stopAt)
    expect(first.result.lastCheckpoint).toMatch(new RegExp(`step-${stopAt <= 3 ? stopAt : stopAt - 3}$`))
    const second = await run(pipeline(out, undefined, first.result.lastCheckpoint))
    expect(second.result.status).toBe('completed')
    const losses = [...first.steps, ...second.steps].map((e) => [e.step, e.loss, e.gradNorm])
    expect(losses).toEqual(whole.steps.map((e) => [e.step, e.loss, e.gradNorm]))
    expect(adapterBytes(join(temp.dir, out)).equals(adapterBytes(config.outDir))).toBe(true)
  })

  test('full fine-tuning: the second stage loads the first stage’s model', async () => {
    const full = pipeline('full', { kind: 'full' })
    const result = await run(full)
    expect(result.steps.map((e) => e.step)).toEqual([1, 2, 3, 4, 5])
    expect(existsSync(join(stageDir(full.outDir, 0, 2), 'model.safetensors'))).toBe(true)
    expect(existsSync(join(full.outDir, 'model.safetensors'))).toBe(true)
  })
})

describe('what a pipeline refuses', () => {
  test('stages that train another adapter shape', () => {
    expect(() =>
      resolvePipelineConfig(
        {
          outDir: join(temp.dir, 'bad'),
          stages: [
            stageInput({ maxSteps: 1 }),
            stageInput({ maxSteps: 1, adapter: { kind: 'lora', r: 8, alpha: 8, targets: ['q_proj'] } })
          ]
        },
        resolveRecipe
      )
    ).toThrow(/stage 2 must train the adapter of stage 1/)
  })

  test('stages that keep the base or the activations another way', () => {
    const stages = (second: Partial<TrainConfigInput>) => () =>
      resolvePipelineConfig(
        {
          outDir: join(temp.dir, 'bad'),
          stages: [stageInput({ maxSteps: 1 }), stageInput({ maxSteps: 1, ...second })]
        },
        resolveRecipe
      )
    expect(stages({ basePrecision: 'int4' })).toThrow(
      'stage 2 must train the base precision of stage 1 (it starts from its result): "int4" instead of "fp32"'
    )
    expect(stages({ recompute: false })).toThrow(
      /stage 2 must train the recomputation of stage 1.*false instead of true/
    )
  })

  test('a pipeline stored before the memory settings resumes without recomputation, as it trained', () => {
    const checkpoint = join(temp.dir, 'old-pipeline', 'checkpoints', 'step-1')
    mkdirSync(checkpoint, { recursive: true })
    writeFileSync(join(checkpoint, TRAIN_CONFIG_FILE), JSON.stringify({ adapter: { kind: 'lora' } }))
    const old = resolvePipelineConfig(
      {
        outDir: join(temp.dir, 'old-pipeline'),
        stages: [stageInput({ maxSteps: 1 }), stageInput({ maxSteps: 1 })],
        resumeFrom: checkpoint
      },
      resolveRecipe
    )
    expect(old.stages.map((stage) => [stage.basePrecision, stage.recompute])).toEqual([
      ['fp32', false],
      ['fp32', false]
    ])
    expect(pipeline('fresh').stages.map((stage) => stage.recompute)).toEqual([true, true])
  })

  test('a stage whose settings are bad, naming the stage', () => {
    expect(() =>
      resolvePipelineConfig(
        { outDir: join(temp.dir, 'bad'), stages: [stageInput({ maxSteps: 1 }), stageInput({ lr: -1 })] },
        resolveRecipe
      )
    ).toThrow(/^stage 2: .*--lr/)
  })

  test('a checkpoint that is no stage’s, and resuming a later stage before the earlier one completed', () => {
    const config = pipeline('never-ran')
    expect(() => stageOfCheckpoint(config, join(temp.dir, 'elsewhere', 'checkpoints', 'step-1'))).toThrow(
      /not a checkpoint of this pipeline's stages/
    )
    const late = pipeline('never-ran', undefined, join(config.outDir, 'checkpoints', 'step-1'))
    return expect(run(late)).rejects.toThrow(/stage 1 of the pipeline .* has no readable record/)
  })
})

/**
 * grpo with μ = num_iterations = 2 through the trainer (engine/train/update-cycle.ts), by the path
 * `train --recipe grpo --rollouts FILE` takes:
 *  - against PyTorch (reference/make_golden_grpo.py, train-grpo-iterations-<model>/): 3 rollout
 *    batches, 5 AdamW steps on batches 0, 0, 1, 1, 2, the second step of a batch taking the ratio to
 *    the first step's log-probs, so the clip acts; LoRA and full, grpo and dapo, with and without
 *    the KL; losses, grad norms and metrics per step and the final tensors within 1e-4;
 *  - the plan (μ steps per batch), checkpoints and a stop only between a batch's updates, and a run
 *    stopped mid-cycle and resumed giving the uninterrupted run's bits;
 *  - on its own samples (stories260K): the model generates before a batch's first update only, and a
 *    resumed run generates and trains what the uninterrupted one did.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createStepProgram } from '../../../src-main/engine/train/compile-step'
import { trainPreflightJob } from '../../../src-main/jobs/kinds/train-preflight'
import type { StepProgram } from '../../../src-main/engine/train/step-program'
import { resolveTrainConfig, type TrainConfig } from '../../../src-main/engine/train/train-config'
import { train, type TrainEvent } from '../../../src-main/engine/train/trainer'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { STORIES_260K, tempDir } from '../../helpers/temp'
import {
  expectFinalTensors,
  expectGrpoStep,
  GOLDEN,
  type GoldenOptimizer,
  type GrpoGoldenRun
} from './golden-batch'

type StepEvent = Extract<TrainEvent, { type: 'step' }>

const temp = tempDir('fs-grpo-iterations-')
afterAll(() => temp.cleanup())
const cacheDir = join(temp.dir, 'cache')

function goldenOf(model: string): { folder: string; optimizer: GoldenOptimizer; runs: GrpoGoldenRun[] } {
  const folder = join(GOLDEN, `train-grpo-iterations-${model}`)
  return { folder, ...JSON.parse(readFileSync(join(folder, 'expected.json'), 'utf8')) }
}

/** The golden run's training as a run configuration: 8 rows (2 groups) per step, in file order. */
function goldenConfig(model: string, run: GrpoGoldenRun, out: string, overrides: object = {}): TrainConfig {
  const { folder, optimizer } = goldenOf(model)
  return resolveTrainConfig(
    {
      modelDir: join(GOLDEN, model),
      dataFile: join(folder, 'rollouts.jsonl'),
      outDir: join(temp.dir, out),
      cacheDir,
      adapter:
        run.method === 'lora'
          ? { kind: 'lora', initAdapterDir: join(GOLDEN, `train-${model}`, 'adapter') }
          : { kind: 'full' },
      optimizer: {
        kind: 'adamw',
        betas: optimizer.betas,
        eps: optimizer.eps,
        weightDecay: optimizer.weight_decay
      },
      recipe: { name: 'grpo', params: run.params },
      lr: optimizer.lr,
      lrScheduler: 'constant',
      maxGradNorm: 0,
      batchSize: 8,
      maxSteps: run.steps,
      shuffle: false,
      maxSeqLen: 64,
      ...overrides
    },
    resolveRecipe
  )
}

/** Trains `config`, returning its step events, its result and the program it trained. */
async function trainRun(config: TrainConfig, stopAfterStep?: number) {
  const events: TrainEvent[] = []
  const stop = new AbortController()
  let program: StepProgram | undefined
  const result = await train(config, {
    resolveRecipe,
    signal: stop.signal,
    createProgram: async (spec) => (program = await createStepProgram(spec)),
    onEvent: (event) => {
      events.push(event)
      if (event.type === 'step' && event.step === stopAfterStep) stop.abort()
    }
  })
  const steps = events.filter((event): event is StepEvent => event.type === 'step')
  return { events, steps, result, program: program! }
}

describe.each(['llama-untied', 'qwen2-tied'])('grpo with μ = 2 on %s against PyTorch', (model) => {
  const { folder, runs } = goldenOf(model)

  it('has LoRA and full runs of grpo and dapo, one with the KL, each clipping on some step', () => {
    const kinds = runs.map(({ method, params }) => `${method} ${params.loss_type}`)
    for (const kind of ['lora grpo', 'lora dapo', 'full grpo', 'full dapo']) expect(kinds).toContain(kind)
    expect(runs.some((run) => (run.params.beta as number) > 0)).toBe(true)
    for (const run of runs) {
      expect(run.params.num_iterations).toBe(2)
      expect(run.params.epsilon_high).not.toBe(run.params.epsilon)
      expect(Math.max(...run['clip/ratio']!), run.name).toBeGreaterThan(0)
    }
  })

  for (const run of runs) {
    it(`${run.name}: losses, grad norms and metrics within 1e-4, final tensors within 1e-4`, async () => {
      const { steps, program } = await trainRun(goldenConfig(model, run, `${model}-${run.name}`))
      expect(steps.map((step) => step.metrics.iteration)).toEqual([1, 2, 1, 2, 1])
      steps.forEach((step, k) => expectGrpoStep(step, run, k))
      expectFinalTensors(folder, run, program)
    })
  }
})

describe('μ = 2: the plan, checkpoints between a batch’s updates, exact resume', () => {
  const model = 'llama-untied'
  const run = goldenOf(model).runs.find((candidate) => candidate.name === 'lora-dapo')!
  const epoch = (out: string) =>
    goldenConfig(model, run, out, { maxSteps: undefined, epochs: 1, saveEvery: 3 })
  const checkpoints = (config: TrainConfig) => readdirSync(join(config.outDir, 'checkpoints')).sort()

  it('plans μ steps per batch, saves at the end of a batch’s updates, and a stop finishes them first', async () => {
    const whole = epoch('whole')
    const uninterrupted = await trainRun(whole)
    const start = uninterrupted.events.find((event) => event.type === 'start')
    expect(start).toMatchObject({ totalSteps: 6 })
    expect(uninterrupted.steps.map((step) => step.metrics.iteration)).toEqual([1, 2, 1, 2, 1, 2])
    // saveEvery 3 falls on a batch's first update: the checkpoint waits for its second
    expect(checkpoints(whole)).toEqual(['step-4', 'step-6'])

    const stopped = epoch('stopped')
    const first = await trainRun(stopped, 3)
    expect(first.result.status).toBe('stopped')
    expect(first.result.step).toBe(4)
    expect(checkpoints(stopped)).toEqual(['step-4'])
    expect(first.steps.at(-1)!.metrics.iteration).toBe(2)
    const rest = await trainRun({ ...stopped, resumeFrom: join(stopped.outDir, 'checkpoints', 'step-4') })
    expect(rest.result.status).toBe('completed')
    const resumed = [...first.steps, ...rest.steps]
    expect(resumed.map((step) => step.step)).toEqual([1, 2, 3, 4, 5, 6])
    resumed.forEach((step, k) => {
      const expected = uninterrupted.steps[k]
      expect(Object.is(step.loss, expected.loss), `loss of step ${step.step}`).toBe(true)
      expect(Object.is(step.gradNorm, expected.gradNorm), `grad norm of step ${step.step}`).toBe(true)
      expect(step.metrics).toEqual(expected.metrics)
    })
  })

  it('pre-flight shows the same plan: μ steps per batch of 8 rollouts', async () => {
    const ctx = { progress: () => {} } as unknown as Parameters<typeof trainPreflightJob.run>[1]
    const report = await trainPreflightJob.run({ config: epoch('preflight') }, ctx)
    expect(report.plan).toEqual({ totalSteps: 6, stepsPerEpoch: 6, epochs: 1, examplesPerStep: 8 })
  })
})

describe('μ = 2 on its own samples, stories260K', () => {
  // The first two story requests: the prompts, each with a gold story (the reward does not read it).
  const data = join(temp.dir, 'prompts.jsonl')
  const requests = join(import.meta.dirname, '..', '..', '..', 'resources', 'datasets', 'story-requests')
  const lines = readFileSync(join(requests, 'train.jsonl'), 'utf8').split('\n').slice(0, 2)
  writeFileSync(data, lines.join('\n') + '\n')
  const rewards = JSON.stringify({
    terms: [{ reward: 'regex_match', weight: 1, params: { pattern: '\\bthe\\b' } }]
  })
  const online = (out: string) =>
    resolveTrainConfig(
      {
        modelDir: STORIES_260K,
        dataFile: data,
        outDir: join(temp.dir, out),
        cacheDir,
        adapter: { kind: 'lora', r: 4, alpha: 8, targets: ['q_proj', 'v_proj'] },
        recipe: {
          name: 'grpo',
          params: {
            rewards,
            group_size: 4,
            num_iterations: 2,
            max_completion_length: 12,
            loss_type: 'dapo',
            epsilon: 0.01
          }
        },
        lr: 1e-2,
        lrScheduler: 'constant',
        batchSize: 8,
        maxSteps: 4,
        shuffle: false,
        maxSeqLen: 64,
        seed: 5
      },
      resolveRecipe
    )
  const loggedSteps = (config: TrainConfig) =>
    readFileSync(join(config.outDir, 'rollouts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { step: number }).step)

  it('generates before a batch’s first update only, and resumes to the same bits', async () => {
    const whole = online('online-whole')
    const uninterrupted = await trainRun(whole)
    const steps = uninterrupted.steps
    expect(steps.map((step) => step.metrics.iteration)).toEqual([1, 2, 1, 2])
    expect(steps.map((step) => 'rollout/tokens' in step.metrics)).toEqual([true, false, true, false])
    expect(loggedSteps(whole)).toEqual([1, 3])
    // The second update trains the first one's completions: their lengths, rewards and advantages.
    for (const metric of ['completions/mean_length', 'rewards/mean', 'rewards/std', 'advantages/abs_mean'])
      expect(steps[1].metrics[metric], metric).toBe(steps[0].metrics[metric])
    // …and they are learnt from: the ratio to the first update's policy is clipped on the second only.
    expect(steps[0].metrics['advantages/abs_mean']).toBeGreaterThan(0)
    expect([steps[0], steps[2]].map((step) => step.metrics['clip/ratio'])).toEqual([0, 0])
    expect(Math.max(steps[1].metrics['clip/ratio'], steps[3].metrics['clip/ratio'])).toBeGreaterThan(0)

    const stopped = online('online-stopped')
    const first = await trainRun(stopped, 1)
    expect(first.result.step).toBe(2)
    const rest = await trainRun({ ...stopped, resumeFrom: join(stopped.outDir, 'checkpoints', 'step-2') })
    const resumed = [...first.steps, ...rest.steps]
    resumed.forEach((step, k) => {
      expect(Object.is(step.loss, steps[k].loss), `loss of step ${step.step}`).toBe(true)
      expect(Object.is(step.gradNorm, steps[k].gradNorm), `grad norm of step ${step.step}`).toBe(true)
    })
    expect(loggedSteps(stopped)).toEqual([1, 3])
  })
})

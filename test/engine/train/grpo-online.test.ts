/**
 * GRPO on its own samples, on the real stories260K with the embedded story-requests data: a short
 * SFT stage, then grpo from its adapter (one pipeline of the two stages), where before every step the model answers each request 4
 * times on its current weights and the reward is the share of the requested name and animal its
 * story mentions (contains_all over the row's metadata). The mean reward rises over the run, the
 * held-out benchmark (greedy answers to the 32 requests of resources/benchmarks/story-requests)
 * rises above what the SFT stage reached, rollout throughput is reported beside the step, and a
 * resumed run generates and trains exactly what the uninterrupted one did.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { encodeChatPrompt, Generator } from '../../../src-main/engine/infer/generation'
import { loadTokenizer } from '../../../src-main/engine/tokenizer/tokenizer'
import { resolvePipelineConfig, stageDir, trainPipeline } from '../../../src-main/engine/train/pipeline'
import { train, type TrainEvent } from '../../../src-main/engine/train/trainer'
import { mentions } from '../../../src-main/eval/tasks/scoring'
import { nextTemperature } from '../../../src-main/recipes/grpo-online'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { STORIES_260K, tempDir } from '../../helpers/temp'
import { storiesConfig, writeStoryRequests } from './invented-stories'

const RESOURCES = join(import.meta.dirname, '..', '..', '..', 'resources')
const temp = tempDir('fs-grpo-online-')
const cacheDir = join(temp.dir, 'cache')
const tokenizer = loadTokenizer(STORIES_260K)
const REWARDS = JSON.stringify({
  terms: [{ reward: 'contains_all', weight: 1, params: { keys: 'name,animal' } }]
})
afterAll(() => temp.cleanup())

type StepEvent = Extract<TrainEvent, { type: 'step' }>

/** Share of the held-out requests whose greedy story mentions both the name and the animal. */
async function benchmark(adapterDir: string): Promise<number> {
  const items = readFileSync(join(RESOURCES, 'benchmarks', 'story-requests', 'items.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { prompt: string; name: string; animal: string })
  const generator = await Generator.open({ modelDir: STORIES_260K, adapterDir }, { cacheDir })
  let hits = 0
  for (const item of items) {
    const { text } = await generator.generate(encodeChatPrompt(tokenizer, item.prompt), tokenizer, {
      maxNewTokens: 64,
      temperature: 0
    })
    if (mentions(text, item.name) && mentions(text, item.animal)) hits++
  }
  await generator.release()
  return hits / items.length
}

const lora = { kind: 'lora' as const, r: 16, alpha: 32, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] }

function grpoConfig(data: string, out: string, initAdapterDir: string, overrides = {}) {
  return storiesConfig(temp.dir, data, out, {
    adapter: { kind: 'lora', initAdapterDir: initAdapterDir || null },
    recipe: {
      name: 'grpo',
      params: { rewards: REWARDS, group_size: '4', loss_type: 'dapo', max_completion_length: '40' }
    },
    lr: 1e-3,
    lrScheduler: 'constant',
    batchSize: 32,
    maxSeqLen: 128,
    seed: 3,
    ...overrides
  })
}

async function run(config: ReturnType<typeof grpoConfig>): Promise<StepEvent[]> {
  const events: TrainEvent[] = []
  await train(config, { resolveRecipe, onEvent: (event) => void events.push(event) })
  return events.filter((event): event is StepEvent => event.type === 'step')
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length

describe('grpo on its own samples after a short SFT stage, stories260K', () => {
  let data: string
  let sftDir: string
  /** The grpo stage's steps of the SFT → grpo pipeline, on the pipeline's timeline (9…38). */
  let grpoSteps: StepEvent[]
  const pipelineOut = join(temp.dir, 'pipeline')
  beforeAll(async () => {
    data = writeStoryRequests(temp.dir)
    const sft = storiesConfig(temp.dir, data, 'sft', {
      adapter: lora,
      lr: 3e-3,
      lrScheduler: 'constant',
      maxSteps: 8,
      batchSize: 8,
      seed: 1
    })
    // The grpo stage as a run of its own from the SFT adapter would be: the pipeline starts it there.
    const grpo = grpoConfig(data, 'grpo', '', { adapter: lora, maxSteps: 30 })
    const events: TrainEvent[] = []
    await trainPipeline(resolvePipelineConfig({ outDir: pipelineOut, stages: [sft, grpo] }, resolveRecipe), {
      resolveRecipe,
      onEvent: (event) => void events.push(event)
    })
    grpoSteps = events.filter((event): event is StepEvent => event.type === 'step' && event.step > 8)
    sftDir = stageDir(pipelineOut, 0, 2)
  }, 400_000)

  test('in one SFT → grpo pipeline, the mean reward rises and the held-out benchmark passes the SFT stage’s', async () => {
    const steps = grpoSteps
    expect(steps.map((step) => step.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 9))
    const rewards = steps.map((step) => step.metrics['rewards/mean'])
    const [first, last] = [mean(rewards.slice(0, 10)), mean(rewards.slice(-10))]
    const [before, after] = [await benchmark(sftDir), await benchmark(pipelineOut)]
    console.info(
      `grpo online: mean reward, first 10 steps ${first.toFixed(3)} → last 10 ${last.toFixed(3)} ` +
        `(per step: ${rewards.map((r) => r.toFixed(2)).join(' ')}); held-out story-requests ` +
        `${before.toFixed(3)} after SFT → ${after.toFixed(3)} after grpo; rollouts ` +
        `${mean(steps.map((s) => s.metrics['rollout/tokens_per_s'])).toFixed(0)} tokens/s, training ` +
        `${mean(steps.map((s) => s.tokensPerSecond)).toFixed(0)} tokens/s`
    )
    expect(last).toBeGreaterThan(first + 0.1)
    expect(after).toBeGreaterThan(before)
    for (const step of steps) {
      expect(step.metrics['rollout/tokens_per_s']).toBeGreaterThan(0)
      expect(step.metrics['rollout/tokens']).toBe(32 * step.metrics['completions/mean_length'])
      // One term of weight 1: its mean is the reward's.
      expect(step.metrics['rewards/contains_all']).toBeCloseTo(step.metrics['rewards/mean'], 5)
    }
  }, 300_000)

  test('a resumed run generates and trains exactly what the uninterrupted one did, temperature included', async () => {
    // With an entropy target the sampling temperature is recipe state, carried by the checkpoint.
    const targeted = (out: string, overrides: object) => {
      const config = grpoConfig(data, out, sftDir, overrides)
      config.recipe.params = { ...config.recipe.params, target_entropy: 0.3 }
      return config
    }
    const whole = await run(targeted('whole', { maxSteps: 4 }))
    const temperatures = whole.map((s) => s.metrics['rollout/temperature'])
    whole.slice(1).forEach((step, i) => {
      expect(step.metrics['rollout/temperature']).toBeCloseTo(
        nextTemperature(temperatures[i], whole[i].metrics['rollout/entropy'], 0.3),
        10
      )
    })
    expect(temperatures[0]).toBe(1)
    expect(new Set(temperatures).size).toBeGreaterThan(1)
    await run(targeted('halves', { maxSteps: 2, saveEvery: 2 }))
    const resumed = await run(
      targeted('halves', {
        maxSteps: 4,
        resumeFrom: join(temp.dir, 'halves', 'checkpoints', 'step-2'),
        replanSchedule: true
      })
    )
    expect(resumed.map((s) => s.metrics['rollout/temperature'])).toEqual(temperatures.slice(2))
    expect(resumed.map((s) => [s.step, s.loss, s.metrics['rewards/mean']])).toEqual(
      whole.slice(2).map((s) => [s.step, s.loss, s.metrics['rewards/mean']])
    )
    const adapter = (dir: string) => readFileSync(join(temp.dir, dir, 'adapter_model.safetensors'))
    expect(adapter('halves').equals(adapter('whole'))).toBe(true)
  }, 300_000)
})

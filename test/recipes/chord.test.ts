/**
 * chord: the μ schedule, and on stories260K the loss (1 − μ)·GRPO + μ·φ-weighted SFT — at μ = 0 it
 * is grpo's loss on the same rollouts, at μ = 1 the φ = p(1 − p) weighted NLL of the gold
 * responses, computed here from the base model's token log-probs — and a few steps that follow
 * the schedule.
 */
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { openSafetensors } from '../../src-main/engine/checkpoint/safetensors'
import { Scorer } from '../../src-main/engine/infer/scoring'
import { loadTokenizer } from '../../src-main/engine/tokenizer/tokenizer'
import { readTrainingData } from '../../src-main/engine/train/data'
import { rolloutsPath } from '../../src-main/engine/train/rollout-log'
import { chordMu, type ChordParams } from '../../src-main/recipes/chord'
import { resolveRecipe } from '../../src-main/recipes/index'
import { runCaptured } from '../cli/captured-cli'
import { STORIES_260K, tempDir } from '../helpers/temp'
import { ARTICLE_REWARDS, demonstrationRun, runSteps } from './demonstration-runs'
import { writeStoryRequests } from '../engine/train/invented-stories'

const schedule = (params: Partial<ChordParams>) =>
  ({ ...resolveRecipe('chord').params, ...params }) as ChordParams

describe('chord μ schedule', () => {
  test('rises linearly from 0 to the peak, falls along a half cosine to the valley, stays there', () => {
    const params = schedule({ mu_peak: 0.8, mu_valley: 0.2, mu_warmup_steps: 4, mu_decay_steps: 4 })
    expect([0, 1, 2, 4, 6, 8, 9, 100].map((step) => chordMu(step, params))).toEqual([
      0,
      0.2,
      0.4,
      0.8,
      0.2 + 0.6 * ((1 + Math.cos(Math.PI / 2)) / 2),
      0.2,
      0.2,
      0.2
    ])
  })

  test('the defaults: no warm-up, 0.9 decaying to 0.05 over 200 steps', () => {
    const params = schedule({})
    expect(chordMu(0, params)).toBe(0.9)
    expect(chordMu(100, params)).toBeCloseTo(0.475, 12)
    expect(chordMu(200, params)).toBe(0.05)
  })
})

describe('chord on stories260K', () => {
  const temp = tempDir('fs-chord-')
  let data: string
  let sftByHand: number
  beforeAll(async () => {
    data = writeStoryRequests(temp.dir, 2)
    // The μ = 1 loss by hand: Σ φ·(−log p) / tokens over both gold responses, p from the base model
    // (a fresh LoRA changes nothing before the first step).
    const tokenizer = loadTokenizer(STORIES_260K)
    const rows = readTrainingData(data, { tokenizer, maxSeqLen: 128 }).examples.map((example) => ({
      inputIds: [...example.inputIds],
      labels: [...example.labels]
    }))
    const scorer = await Scorer.open(
      { modelDir: STORIES_260K },
      { cacheDir: join(temp.dir, 'cache'), threads: 1 }
    )
    const logprobs = (await scorer.score(rows)).flatMap((row) => row.tokenLogprobs.filter((v) => v !== null))
    await scorer.release()
    const phiNll = logprobs.map((lp) => Math.exp(lp) * (1 - Math.exp(lp)) * -lp)
    sftByHand = phiNll.reduce((a, b) => a + b, 0) / phiNll.length
  }, 120_000)
  afterAll(() => temp.cleanup())

  const rewards = ARTICLE_REWARDS
  /** The largest difference between two runs' adapter weights. */
  const maxDifference = (a: string, b: string) => {
    const [first, second] = [a, b].map((out) =>
      openSafetensors(join(temp.dir, out, 'adapter_model.safetensors'))
    )
    const difference = Math.max(
      ...first.names().flatMap((name) => {
        const [x, y] = [first.readFloat32(name), second.readFloat32(name)]
        return [...x].map((value, i) => Math.abs(value - y[i]))
      })
    )
    first.close()
    second.close()
    return difference
  }
  const fixedMu = (mu: number) => ({ rewards, mu_peak: mu, mu_valley: mu, mu_decay_steps: 0 })

  test('at μ = 0 the loss is grpo’s on the same rollouts; the SFT term is the φ-weighted NLL by hand', async () => {
    const [grpoStep] = await runSteps(demonstrationRun(temp.dir, data, 'grpo', 'grpo', { rewards }))
    const [chordStep] = await runSteps(demonstrationRun(temp.dir, data, 'chord0', 'chord', fixedMu(0)))
    expect(chordStep.loss).toBeCloseTo(grpoStep.loss, 6)
    expect(chordStep.metrics['chord/grpo_loss']).toBeCloseTo(grpoStep.loss, 6)
    expect(chordStep.metrics['chord/mu']).toBe(0)
    expect(grpoStep.metrics['advantages/abs_mean']).toBeGreaterThan(0.1)
    expect(chordStep.metrics['chord/sft_loss']).toBeCloseTo(sftByHand, 5)
    for (const metric of ['rewards/mean', 'completions/mean_length', 'advantages/abs_mean', 'entropy/mean']) {
      expect(chordStep.metrics[metric]).toBeCloseTo(grpoStep.metrics[metric], 5)
    }
    // The same gradient: the same adapter after the step (and not that of a step with μ = 1).
    await runSteps(demonstrationRun(temp.dir, data, 'chord1', 'chord', fixedMu(1)))
    const [same, other] = [maxDifference('chord0', 'grpo'), maxDifference('chord1', 'grpo')]
    // Adam moves each weight by about lr (3e-3) on a first step: a different gradient shows as that.
    expect(same).toBeLessThan(3e-5)
    expect(other).toBeGreaterThan(1e-3)
    // The rollout log skips the demonstration rows: each completion has grpo's advantage.
    const advantages = (out: string) =>
      (
        JSON.parse(readFileSync(rolloutsPath(join(temp.dir, out)), 'utf8')) as {
          groups: { completions: { advantage: number }[] }[]
        }
      ).groups.flatMap((group) => group.completions.map((completion) => completion.advantage))
    expect(advantages('chord0')).toHaveLength(8)
    advantages('chord0').forEach((advantage, i) => expect(advantage).toBeCloseTo(advantages('grpo')[i], 6))
  }, 300_000)

  test('at μ = 1 the loss is the φ-weighted NLL of the gold responses', async () => {
    const [step] = await runSteps(demonstrationRun(temp.dir, data, 'chord-sft', 'chord', fixedMu(1)))
    expect(step.loss).toBeCloseTo(sftByHand, 5)
    expect(step.metrics['chord/mu']).toBe(1)
  }, 300_000)

  test('accumulating two micro-batches gives the step of one batch: both terms use the step’s totals', async () => {
    const mixed = { ...fixedMu(0.5), loss_type: 'dapo' }
    const [whole] = await runSteps(demonstrationRun(temp.dir, data, 'chord-batch', 'chord', mixed))
    const [accumulated] = await runSteps(
      demonstrationRun(temp.dir, data, 'chord-accum', 'chord', mixed, { batchSize: 4, gradAccum: 2 })
    )
    for (const figure of ['chord/grpo_loss', 'chord/sft_loss', 'rewards/mean', 'entropy/mean']) {
      expect(accumulated.metrics[figure]).toBeCloseTo(whole.metrics[figure], 5)
    }
    expect(accumulated.loss).toBeCloseTo(whole.loss, 5)
    expect(accumulated.gradNorm).toBeCloseTo(whole.gradNorm, 4)
  }, 300_000)

  test('a few steps follow the schedule, each loss the mix of its two terms', async () => {
    const params = { rewards, mu_peak: 0.8, mu_valley: 0.1, mu_warmup_steps: 1, mu_decay_steps: 2 }
    const steps = await runSteps(
      demonstrationRun(temp.dir, data, 'chord-schedule', 'chord', params, { maxSteps: 4 })
    )
    expect(steps.map((step) => step.metrics['chord/mu'])).toEqual(
      [0, 1, 2, 3].map((done) => Math.fround(chordMu(done, schedule(params))))
    )
    for (const { loss, metrics } of steps) {
      const mu = metrics['chord/mu']
      expect(loss).toBeCloseTo((1 - mu) * metrics['chord/grpo_loss'] + mu * metrics['chord/sft_loss'], 5)
      expect(Number.isFinite(loss)).toBe(true)
    }
  }, 300_000)
})

describe('train --recipe chord', () => {
  test('takes prompts with gold responses and a reward spec, not given rollouts', async () => {
    const base = ['train', '--model', STORIES_260K, '--out', join(tmpdir(), 'never'), '--recipe', 'chord']
    expect((await runCaptured(base)).err).toContain(
      'give --data PROMPTS (with gold responses) and --rewards SPEC (the model answers)'
    )
    expect((await runCaptured([...base, '--rollouts', 'r.jsonl'])).err).toContain(
      '--rollouts is for reinforcement learning, which only --recipe grpo does (got --recipe chord)'
    )
  })
})

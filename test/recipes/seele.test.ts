/**
 * seele: the hint its plan appends, how a prompt's hint share follows its rollout accuracy, and on
 * stories260K a run whose hints are prompt (untrained) and whose resume from a checkpoint, hint
 * shares included, trains exactly what the uninterrupted run did.
 */
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { Rng } from '../../src-main/engine/rng'
import type { RecipeStepReport } from '../../src-main/engine/train/run-hooks'
import { resolveRecipe } from '../../src-main/recipes/index'
import { nextHintShare, type SeeleParams } from '../../src-main/recipes/seele'
import { savedRecipeState } from '../helpers/recipe-run'
import { tempDir } from '../helpers/temp'
import { ARTICLE_REWARDS, demonstrationRun, REWARDS, runSteps } from './demonstration-runs'
import { writeStoryRequests } from '../engine/train/invented-stories'

const { hook, params: resolved } = resolveRecipe('seele', { rewards: REWARDS, group_size: 4 })
const params = resolved as SeeleParams

/** A step's report: per micro-batch, each row's prompt line and reward. */
function report(lines: number[], rewards: number[]): RecipeStepReport {
  return {
    step: 1,
    epoch: 0,
    rowLines: [lines.map((line) => [line])],
    result: {
      loss: 0,
      gradNorm: 0,
      tokens: 0,
      metrics: {},
      perSample: { reward: [Float32Array.from(rewards)] }
    }
  } as unknown as RecipeStepReport
}

describe('seele hints', () => {
  test('the hint is the first ⌊h·n⌋ tokens of the demonstration, h the prompt’s share', () => {
    const demonstration = Array.from({ length: 10 }, (_, i) => 100 + i)
    const plan = (state: unknown, line: number) =>
      hook.rollouts!.plan!({ line, demonstration }, { rng: Rng.fromSeed(1), state: state as null }, params)
    const state = { hints: { 4: 0.25 }, grpo: null }
    expect(plan(state, 4)).toEqual({ hint: [100, 101] })
    // A prompt not trained yet: hint_initial (0.5).
    expect(plan(state, 9)).toEqual({ hint: [100, 101, 102, 103, 104] })
  })

  test('h moves up for a prompt below the target accuracy, down above it, within [0, hint_max]', () => {
    const state = hook.initialState!(params)
    expect(state).toEqual({ hints: {}, grpo: null })
    // Line 1: 1 of 4 right (0.25 < 0.5); line 2: 3 of 4 (0.75 > 0.5).
    const next = hook.updateState!(state, report([1, 1, 1, 1, 2, 2, 2, 2], [0, 0, 0, 1, 1, 1, 1, 0]), params)
    expect(next).toEqual({ hints: { 1: 0.5 + 0.5 * 0.25, 2: 0.5 - 0.5 * 0.25 }, grpo: null })
    const again = hook.updateState!(next, report([2, 2, 2, 2], [1, 1, 1, 1]), params)
    expect(again).toEqual({ hints: { 1: 0.625, 2: 0.125 }, grpo: null })
    expect(nextHintShare(0.85, 0, params)).toBe(0.9)
    expect(nextHintShare(0.1, 1, params)).toBe(0)
    expect(nextHintShare(0.3, 0.5, params)).toBe(0.3)
  })

  test('refuses more than one update per batch: the hints adapt once per round', () => {
    const { hook: seele, params: iterated } = resolveRecipe('seele', { rewards: REWARDS, num_iterations: 2 })
    expect(() =>
      seele.groupRows!({ examples: [], rowCount: 0, truncatedCount: 0, dropped: [] }, iterated)
    ).toThrow(/seele: num_iterations 2: the hints adapt once per round of rollouts/)
  })
})

describe('seele on stories260K', () => {
  const temp = tempDir('fs-seele-')
  afterAll(() => temp.cleanup())
  const rewards = ARTICLE_REWARDS

  test('hints are prompt, and a resumed run trains and hints exactly as the uninterrupted one', async () => {
    const data = writeStoryRequests(temp.dir, 4)
    const run = (out: string, overrides: object) =>
      runSteps(demonstrationRun(temp.dir, data, out, 'seele', { rewards }, { batchSize: 8, ...overrides }))
    const whole = await run('whole', { maxSteps: 4, saveEvery: 2 })
    for (const step of whole) {
      // The hint (half the gold response at first, some 30 tokens) is not among the trained tokens.
      expect(step.metrics['completions/mean_length']).toBeLessThanOrEqual(24)
      expect(step.metrics['seele/hint_share']).toBeGreaterThan(0)
    }
    expect(whole[0].metrics['seele/hint_share']).toBe(0.5)
    const state = savedRecipeState(temp.dir, 'whole', 4) as { hints: Record<string, number> }
    expect(Object.keys(state.hints).sort()).toEqual(['1', '2', '3', '4'])
    expect(new Set(Object.values(state.hints)).size).toBeGreaterThan(1)

    await run('halves', { maxSteps: 2, saveEvery: 2 })
    const resumed = await run('halves', {
      maxSteps: 4,
      saveEvery: 2,
      resumeFrom: join(temp.dir, 'halves', 'checkpoints', 'step-2'),
      replanSchedule: true
    })
    expect(resumed.map((s) => s.step)).toEqual([3, 4])
    // Every figure but the rollout throughput, which is timed.
    const figures = ({ 'rollout/tokens_per_s': _timed, ...rest }: Record<string, number>) => rest
    resumed.forEach((step, i) => {
      expect(Object.is(step.loss, whole[i + 2].loss)).toBe(true)
      expect(figures(step.metrics)).toEqual(figures(whole[i + 2].metrics))
    })
    expect(savedRecipeState(temp.dir, 'halves', 4)).toEqual(state)
  }, 300_000)
})

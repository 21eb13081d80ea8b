/**
 * prefix-rft: the seeded prefixes of the demonstration its plan gives, the settings it refuses, and
 * a short run on stories260K where the last completion of each group continues the gold response
 * and the others are exactly grpo's.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { Rng } from '../../src-main/engine/rng'
import type { TrainingData } from '../../src-main/engine/train/data'
import { rolloutsPath, type RolloutStepRecord } from '../../src-main/engine/train/rollout-log'
import { resolveRecipe } from '../../src-main/recipes/index'
import type { PrefixRftParams } from '../../src-main/recipes/prefix-rft'
import { tempDir } from '../helpers/temp'
import { demonstrationRun, REWARDS, runSteps } from './demonstration-runs'
import { writeStoryRequests } from '../engine/train/invented-stories'

const DEMONSTRATION = Array.from({ length: 100 }, (_, i) => 1000 + i)

function planned(seed: number, params: Record<string, unknown> = {}) {
  const { hook, params: resolved } = resolveRecipe('prefix-rft', { rewards: REWARDS, ...params })
  return hook.rollouts!.plan!(
    { line: 3, demonstration: DEMONSTRATION },
    { rng: Rng.fromSeed(seed, 7), state: null },
    resolved as PrefixRftParams
  )
}

describe('prefix-rft plan', () => {
  test('prefix_rollouts prefixes of the demonstration, their lengths seeded and within the range', () => {
    const { prefixes } = planned(1, { prefix_rollouts: 3, prefix_min: 0.3, prefix_max: 0.6 })
    expect(prefixes).toHaveLength(3)
    for (const prefix of prefixes!) {
      expect(prefix).toEqual(DEMONSTRATION.slice(0, prefix.length))
      expect(prefix.length).toBeGreaterThanOrEqual(30)
      expect(prefix.length).toBeLessThan(60)
    }
    expect(planned(1, { prefix_rollouts: 3, prefix_min: 0.3, prefix_max: 0.6 })).toEqual({ prefixes })
    const lengths = (seed: number) => planned(seed, { prefix_rollouts: 3 }).prefixes!.map((p) => p.length)
    expect(lengths(2)).not.toEqual(lengths(1))
    expect(planned(1, { prefix_rollouts: 0 })).toEqual({ prefixes: [] })
  })

  test('refuses settings it cannot sample, and data without a reward spec', () => {
    const data: TrainingData = { examples: [], rowCount: 0, truncatedCount: 0, dropped: [] }
    const groups = (params: Record<string, unknown>) => {
      const { hook, params: resolved } = resolveRecipe('prefix-rft', params)
      return () => hook.groupRows!(data, resolved)
    }
    expect(groups({ rewards: REWARDS, group_size: 2, prefix_rollouts: 3 })).toThrow(
      'prefix-rft: prefix_rollouts 3 is more than group_size 2'
    )
    expect(groups({ rewards: REWARDS, prefix_min: 0.7, prefix_max: 0.4 })).toThrow(
      'prefix-rft: prefix_min 0.7 is more than prefix_max 0.4'
    )
    expect(groups({})).toThrow(
      /prefix-rft: needs a reward spec \(the rewards parameter, train --rewards SPEC\)/
    )
  })
})

describe('prefix-rft on stories260K', () => {
  const temp = tempDir('fs-prefix-rft-')
  afterAll(() => temp.cleanup())

  test('the last completion of each group continues the gold response; the others are grpo’s', async () => {
    const data = writeStoryRequests(temp.dir, 2)
    const params = { prefix_rollouts: 1, prefix_min: 0.3, prefix_max: 0.6 }
    const [step] = await runSteps(demonstrationRun(temp.dir, data, 'prefix', 'prefix-rft', params))
    await runSteps(demonstrationRun(temp.dir, data, 'grpo', 'grpo', {}))
    const logged = (out: string) =>
      JSON.parse(readFileSync(rolloutsPath(join(temp.dir, out)), 'utf8')) as RolloutStepRecord
    const [prefixed, plain] = [logged('prefix'), logged('grpo')]
    prefixed.groups.forEach((group, g) => {
      const texts = group.completions.map((completion) => completion.text)
      expect(texts[3].slice(0, 20)).toBe(group.reference.slice(0, 20))
      expect(texts.slice(0, 3)).toEqual(plain.groups[g].completions.slice(0, 3).map((c) => c.text))
    })
    expect(Number.isFinite(step.loss)).toBe(true)
    expect(step.metrics['completions/mean_length']).toBeGreaterThan(0)
  }, 300_000)
})

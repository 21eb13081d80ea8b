/**
 * grpo on its own samples, the recipe's side: the `rewards` parameter is checked as a reward spec
 * when the run is configured, each prompt becomes group_size copies to be answered, and the
 * command line's --rewards reads a spec file (and is refused where it means nothing).
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { TrainingData } from '../../src-main/engine/train/data'
import {
  generatesRollouts,
  nextTemperature,
  parseRewardSpec,
  promptCopies
} from '../../src-main/recipes/grpo-online'
import { resolveRecipe } from '../../src-main/recipes/index'
import { runCaptured } from '../cli/captured-cli'
import { STORIES_260K, tempDir } from '../helpers/temp'

const SPEC = JSON.stringify({ terms: [{ reward: 'exact_match', weight: 1 }] })
const example = (line: number) => ({
  line,
  inputIds: Int32Array.from([1, 5, 6]),
  labels: Int32Array.from([-100, -100, 6]),
  weights: Float32Array.from([0, 0, 1])
})
const params = { group_size: 3, dynamic_sampling: false }

describe('grpo rewards parameter', () => {
  it('is a reward spec, checked when the recipe is resolved', () => {
    expect(resolveRecipe('grpo', { rewards: SPEC }).params.rewards).toBe(SPEC)
    expect(generatesRollouts({ rewards: SPEC })).toBe(true)
    expect(generatesRollouts({ rewards: ' ' })).toBe(false)
    expect(() => parseRewardSpec('{"terms": [')).toThrow(/must be a reward spec in JSON/)
    expect(() => parseRewardSpec('{"terms": []}')).toThrow(/at least one term/)
    expect(() => parseRewardSpec('{"terms": [{"reward": "vibes", "weight": 1}]}')).toThrow(
      /term 0: unknown reward "vibes"; known: .*exact_match/
    )
    expect(() => parseRewardSpec('{"terms": [{"reward": "exact_match", "weight": "1"}]}')).toThrow(
      'term 0 (exact_match): weight must be a finite number'
    )
    expect(() => resolveRecipe('grpo', { rewards: '{"terms": 3}' })).toThrow(/rewards/)
  })

  it('makes each prompt group_size copies to be answered, and refuses what cannot be generated from', () => {
    const data: TrainingData = {
      examples: [example(1), example(2)],
      rowCount: 2,
      truncatedCount: 0,
      dropped: []
    }
    expect(promptCopies(data, params).examples.map((e) => e.line)).toEqual([1, 1, 1, 2, 2, 2])
    expect(() => promptCopies(data, { ...params, dynamic_sampling: true })).toThrow(/dynamic_sampling/)
    const rollout = { ...example(3), rollout: { reward: 1, group: 0 } }
    expect(() => promptCopies({ ...data, examples: [rollout] }, params)).toThrow(
      /line 3 is a rollout row, but the rewards parameter asks for generating rollouts/
    )
  })
})

describe('train --rewards', () => {
  const dir = tempDir('fs-grpo-online-cli-')
  const spec = join(dir.dir, 'spec.json')
  writeFileSync(spec, SPEC)
  const base = ['train', '--model', STORIES_260K, '--out', join(dir.dir, 'out')]

  it('is for grpo, with prompts in --data and not with --rollouts', async () => {
    const sft = await runCaptured([...base, '--data', 'x.jsonl', '--rewards', spec])
    expect(sft.err).toContain(
      '--rewards is for reinforcement learning, which only --recipe grpo, chord, prefix-rft, seele do (got --recipe sft)'
    )
    const both = await runCaptured([...base, '--recipe', 'grpo', '--rollouts', 'r.jsonl', '--rewards', spec])
    expect(both.err).toContain(
      '--rollouts trains on given completions and rewards: give it without --data and --rewards'
    )
    const none = await runCaptured([...base, '--recipe', 'grpo'])
    expect(none.err).toContain(
      'give --rollouts FILE (given completions), or --data PROMPTS with --rewards SPEC'
    )
    const missing = await runCaptured([
      ...base,
      '--recipe',
      'grpo',
      '--data',
      'x.jsonl',
      '--rewards',
      join(dir.dir, 'nope.json')
    ])
    expect(missing.err).toContain('--rewards: cannot read')
    dir.cleanup()
  })
})

describe('entropy-targeted temperature', () => {
  it('warms when the rollouts are too certain, cools when too random, within bounds', () => {
    expect(nextTemperature(1, 0.1, 0.3)).toBeCloseTo(Math.exp(0.2), 12)
    expect(nextTemperature(1, 0.8, 0.3)).toBeCloseTo(Math.exp(-0.5), 12)
    expect(nextTemperature(1, 0.3, 0.3)).toBe(1)
    expect(nextTemperature(1.9, 0, 3)).toBe(2)
    expect(nextTemperature(0.06, 9, 0.3)).toBe(0.05)
  })
})

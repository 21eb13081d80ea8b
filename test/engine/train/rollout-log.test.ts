/**
 * The rollout log (rollouts.jsonl): a short grpo-on-its-own-samples run on the real stories260K
 * writes each step's prompts with their completions, rewards, reward terms and advantages; a resumed
 * run cuts off the steps after its checkpoint before writing them again; readers go line by line,
 * skip a torn last line and name the file and line of a bad one.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  readRolloutStep,
  readRolloutSteps,
  rolloutsPath,
  startRolloutLog,
  type RolloutStepRecord
} from '../../../src-main/engine/train/rollout-log'
import { train } from '../../../src-main/engine/train/trainer'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { tempDir } from '../../helpers/temp'
import { storiesConfig } from './invented-stories'

const temp = tempDir('fs-rollout-log-')
afterAll(() => temp.cleanup())

const REWARDS = JSON.stringify({
  terms: [
    { reward: 'contains_all', weight: 1, params: { keys: 'name,animal' } },
    { reward: 'length_penalty', weight: 0.5, params: { max_length: 40, cache_length: 30 } }
  ]
})

/** Two story requests, with the requested name and animal as each row's metadata. */
function twoRequests(): string {
  const file = join(temp.dir, 'requests.jsonl')
  const rows = [
    ['Tom', 'cat'],
    ['Lily', 'dog']
  ].map(([name, animal]) => ({
    messages: [
      { role: 'user', content: `Write a story about ${name} the ${animal}.` },
      { role: 'assistant', content: `Once upon a time, ${name} the ${animal} went to the park.` }
    ],
    metadata: { name, animal }
  }))
  writeFileSync(file, rows.map((row) => JSON.stringify(row)).join('\n') + '\n')
  return file
}

function grpoConfig(data: string, out: string, overrides = {}) {
  return storiesConfig(temp.dir, data, out, {
    adapter: { kind: 'lora', r: 4, alpha: 8, targets: ['q_proj', 'v_proj'] },
    recipe: {
      name: 'grpo',
      params: { rewards: REWARDS, group_size: '2', max_completion_length: '12', temperature: '1.5' }
    },
    lr: 1e-3,
    batchSize: 4,
    maxSteps: 2,
    maxSeqLen: 96,
    seed: 5,
    ...overrides
  })
}

function logLines(out: string): string[] {
  return readFileSync(rolloutsPath(join(temp.dir, out)), 'utf8')
    .trim()
    .split('\n')
}

describe('a grpo run on its own samples logs its rollouts, stories260K', () => {
  let data: string
  beforeAll(() => {
    data = twoRequests()
  })

  test('each step: both prompts, G completions with rewards, terms and advantages summing to 0', async () => {
    await train(grpoConfig(data, 'whole'), { resolveRecipe })
    const path = rolloutsPath(join(temp.dir, 'whole'))
    expect(await readRolloutSteps(path)).toEqual([1, 2])
    let learning = 0
    for (const step of [1, 2]) {
      const record = (await readRolloutStep(path, step))!
      expect(record.step).toBe(step)
      expect(record.groups.map((group) => group.line).sort()).toEqual([1, 2])
      for (const group of record.groups) {
        expect(group.prompt).toMatch(/about \w+ the \w+/)
        expect(group.reference.length).toBeGreaterThan(0)
        expect(group.completions).toHaveLength(2)
        for (const completion of group.completions) {
          expect(typeof completion.text).toBe('string')
          const { contains_all: mentions, length_penalty: length } = completion.terms!
          expect(completion.reward).toBeCloseTo(mentions + 0.5 * length, 5)
          expect(Number.isFinite(completion.advantage)).toBe(true)
        }
        const advantages = group.completions.map((completion) => completion.advantage!)
        expect(advantages[0] + advantages[1]).toBeCloseTo(0, 5)
        // TRL's formula: the advantage is the reward's deviation from the group's mean, scaled.
        const [a, b] = group.completions.map((completion) => completion.reward)
        expect(Math.sign(advantages[0])).toBe(Math.sign(a - b))
        if (a !== b) learning++
      }
    }
    // The length term makes the completions' rewards differ: the advantages are not all 0.
    expect(learning).toBeGreaterThan(0)
    expect(await readRolloutStep(path, 3)).toBeNull()
  }, 120_000)

  test('a resumed run cuts off the steps after its checkpoint, then logs them as the whole run did', async () => {
    await train(grpoConfig(data, 'halves', { saveEvery: 1 }), { resolveRecipe })
    const interrupted = logLines('halves')
    expect(interrupted).toHaveLength(2)
    await train(
      grpoConfig(data, 'halves', { resumeFrom: join(temp.dir, 'halves', 'checkpoints', 'step-1') }),
      {
        resolveRecipe
      }
    )
    expect(logLines('halves')).toEqual(logLines('whole'))
  }, 120_000)
})

describe('the rollout log file', () => {
  const record = (step: number): RolloutStepRecord => ({
    step,
    groups: [{ line: 1, prompt: 'p', reference: 'r', completions: [{ text: 'é', reward: 1, advantage: 0 }] }]
  })
  const line = (step: number) => JSON.stringify(record(step)) + '\n'

  test('starting it keeps the steps up to the resumed one and drops a torn last line', async () => {
    const path = join(temp.dir, 'torn', 'rollouts.jsonl')
    await startRolloutLog(path, 0)
    expect(readFileSync(path, 'utf8')).toBe('')
    appendFileSync(path, line(1) + line(2) + '{"step":3,"gro')
    expect(await readRolloutSteps(path)).toEqual([1, 2])
    await startRolloutLog(path, 5)
    expect(readFileSync(path, 'utf8')).toBe(line(1) + line(2))
    await startRolloutLog(path, 1)
    expect(readFileSync(path, 'utf8')).toBe(line(1))
    expect(await readRolloutStep(path, 1)).toEqual(record(1))
  })

  test('reads lines across chunk boundaries', async () => {
    const path = join(temp.dir, 'long', 'rollouts.jsonl')
    await startRolloutLog(path, 0)
    const long = (step: number): RolloutStepRecord => ({
      step,
      groups: [{ line: step, prompt: 'x'.repeat(50_000), reference: '', completions: [] }]
    })
    for (const step of [1, 2, 3]) appendFileSync(path, JSON.stringify(long(step)) + '\n')
    expect(await readRolloutSteps(path)).toEqual([1, 2, 3])
    expect(await readRolloutStep(path, 3)).toEqual(long(3))
  })

  test('a missing file has no steps; a line that is not a step names the file and line', async () => {
    expect(await readRolloutSteps(join(temp.dir, 'none.jsonl'))).toEqual([])
    const path = join(temp.dir, 'bad.jsonl')
    writeFileSync(path, line(1) + '{"groups":[]}\n')
    await expect(readRolloutSteps(path)).rejects.toThrow(
      `rollouts: line 2 of ${path} is not a step's rollouts: "{\\"groups\\":[]}"`
    )
  })
})

/**
 * GRPO on ../shared/models/stories260K from its own sampled completions: for a few story openings
 * the base model samples completions, the reward is 1 for those that tell of a boy and 0 for the
 * others, and each group holds two of each. Training on those rollouts (`train --recipe grpo
 * --rollouts`, through the trainer) raises the rewarded completions' log-probability and lowers the
 * others' — a direction check — and reports the recipe's metrics every step.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Generator } from '../../../src-main/engine/infer/generation'
import { Scorer } from '../../../src-main/engine/infer/scoring'
import { IGNORE_INDEX } from '../../../src-main/engine/tokenizer/labels'
import { loadTokenizer } from '../../../src-main/engine/tokenizer/tokenizer'
import { train, type TrainEvent } from '../../../src-main/engine/train/trainer'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { STORIES_260K, tempDir } from '../../helpers/temp'
import { storiesConfig, writeJsonl } from './invented-stories'

const PROMPTS = [
  'Once upon a time, there was a little',
  'One day, there was a little',
  'There was a little',
  'Long ago, there lived a little'
]
const GROUP_SIZE = 4
const SAMPLES_PER_PROMPT = 16

interface Rollout {
  prompt_ids: number[]
  completion_ids: number[]
  reward: number
  group: number
}

const temp = tempDir('fs-grpo-stories-')
const cacheDir = join(temp.dir, 'cache')
const tokenizer = loadTokenizer(STORIES_260K)
const rollouts: Rollout[] = []
afterAll(() => temp.cleanup())

/**
 * Per prompt, the first two sampled completions that do not tell of a boy (reward 0), then the
 * first two that do (reward 1); a prompt without two of each is left out.
 */
async function sampleRollouts(): Promise<Rollout[]> {
  const generator = await Generator.open({ modelDir: STORIES_260K }, { cacheDir, threads: 1 })
  const rows: Rollout[] = []
  try {
    for (const [group, prompt] of PROMPTS.entries()) {
      const promptIds = tokenizer.encode(prompt)
      const kinds: Rollout[][] = [[], []]
      for (let seed = 0; seed < SAMPLES_PER_PROMPT; seed++) {
        const { text, tokenIds } = await generator.generate(promptIds, tokenizer, {
          maxNewTokens: 10,
          temperature: 1,
          seed
        })
        const reward = /\bboy\b/.test(text) ? 1 : 0
        kinds[reward].push({ prompt_ids: promptIds, completion_ids: tokenIds, reward, group })
      }
      if (kinds.every((kind) => kind.length >= GROUP_SIZE / 2)) {
        rows.push(...kinds.flatMap((kind) => kind.slice(0, GROUP_SIZE / 2)))
      }
    }
  } finally {
    await generator.release()
  }
  return rows
}

/** Mean log-probability per token of the rollouts' completions, base model or with an adapter. */
async function meanCompletionLogprob(rows: readonly Rollout[], adapterDir?: string): Promise<number> {
  const scorer = await Scorer.open({ modelDir: STORIES_260K, adapterDir }, { cacheDir, threads: 1 })
  try {
    const scores = await scorer.score(
      rows.map((row) => ({
        inputIds: [...row.prompt_ids, ...row.completion_ids],
        labels: [...row.prompt_ids.map(() => IGNORE_INDEX), ...row.completion_ids]
      }))
    )
    return scores.reduce((sum, score) => sum + score.logprob / score.tokens, 0) / scores.length
  } finally {
    await scorer.release()
  }
}

describe('grpo on stories260K from its own samples', () => {
  const steps: Extract<TrainEvent, { type: 'step' }>[] = []
  let start: Extract<TrainEvent, { type: 'start' }>
  let out: string
  beforeAll(async () => {
    rollouts.push(...(await sampleRollouts()))
    const file = writeJsonl(join(temp.dir, 'rollouts.jsonl'), rollouts)
    const config = storiesConfig(temp.dir, file, 'grpo', {
      recipe: { name: 'grpo', params: { group_size: String(GROUP_SIZE), loss_type: 'dapo' } },
      adapter: { kind: 'lora', r: 8, alpha: 16, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] },
      lr: 1e-3,
      lrScheduler: 'constant',
      maxSteps: 12
    })
    out = config.outDir
    await train(config, {
      resolveRecipe,
      onEvent: (event) => {
        if (event.type === 'start') start = event
        if (event.type === 'step') steps.push(event)
      }
    })
  }, 120_000)

  test('samples groups of two rewarded and two unrewarded completions for at least three prompts', () => {
    expect(rollouts.length).toBeGreaterThanOrEqual(3 * GROUP_SIZE)
    expect(start.examples).toBe(rollouts.length)
    expect(start.dropped).toEqual([])
  })

  test('raises the rewarded completions’ log-probability and lowers the others’', async () => {
    const rewarded = rollouts.filter((row) => row.reward === 1)
    const others = rollouts.filter((row) => row.reward === 0)
    const before = [await meanCompletionLogprob(rewarded), await meanCompletionLogprob(others)]
    const after = [await meanCompletionLogprob(rewarded, out), await meanCompletionLogprob(others, out)]
    console.info(
      `grpo on stories260K: mean log p per token, rewarded ${before[0].toFixed(3)} → ${after[0].toFixed(3)}, ` +
        `unrewarded ${before[1].toFixed(3)} → ${after[1].toFixed(3)}`
    )
    expect(after[0]).toBeGreaterThan(before[0] + 0.1)
    expect(after[1]).toBeLessThan(before[1] - 0.1)
  })

  test('reports the reward, advantage, clip, length and entropy metrics every step', () => {
    expect(steps).toHaveLength(12)
    for (const step of steps) {
      expect(Object.keys(step.metrics).sort()).toEqual([
        'advantages/abs_mean',
        'clip/ratio',
        'completions/mean_length',
        'entropy/mean',
        'groups/zero_std_share',
        'rewards/mean',
        'rewards/std'
      ])
      // each batch is one group, two of its four completions rewarded
      expect(step.metrics['rewards/mean']).toBeCloseTo(0.5, 6)
      expect(step.metrics['groups/zero_std_share']).toBe(0)
      expect(step.metrics['clip/ratio']).toBe(0)
      // rewards [0, 0, 1, 1] (unrewarded first): A = ±0.5 / (std + 1e-4), std = √(1/3) (unbiased)
      const advantages = step.perSample!.values.advantage
      expect(advantages.map((a) => Math.sign(a))).toEqual([-1, -1, 1, 1])
      for (const a of advantages) expect(Math.abs(a)).toBeCloseTo(0.5 / (Math.sqrt(1 / 3) + 1e-4), 4)
    }
  })
})

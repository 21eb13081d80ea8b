/**
 * Rollouts inside the training loop: story-request prompts (the embedded demo data) answered G
 * times by stories260K on live weights, scored, and turned into rollout examples exactly like
 * rollout rows (prompt untrained, completion trained, reward and group on the example).
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readModelConfig } from '../../../src-main/engine/checkpoint/hf-config'
import { loraModules, peftTensorName } from '../../../src-main/engine/checkpoint/peft'
import { LiveGenerator, type LiveWeights } from '../../../src-main/engine/infer/live-generation'
import { IGNORE_INDEX } from '../../../src-main/engine/tokenizer/labels'
import { loadTokenizer } from '../../../src-main/engine/tokenizer/tokenizer'
import { readTrainingData } from '../../../src-main/engine/train/data'
import {
  onlineRollouts,
  type GroupRewards,
  type RolloutGroupPlan,
  type RolloutGroupText,
  type RolloutPrompt
} from '../../../src-main/engine/train/online-rollouts'
import { STORIES_260K, STORY_REQUESTS, tempDir } from '../../helpers/temp'

const config = readModelConfig(STORIES_260K)
const tokenizer = loadTokenizer(STORIES_260K)
const modules = loraModules(config, ['q_proj', 'v_proj'])
/** A fresh LoRA (B = 0): the base model's answers. */
const weights: LiveWeights = new Map(
  modules.flatMap((m) => [
    [
      peftTensorName(m.modulePath, 'A'),
      { shape: [4, m.inFeatures], data: new Float32Array(4 * m.inFeatures).fill(0.01) }
    ],
    [
      peftTensorName(m.modulePath, 'B'),
      { shape: [m.outFeatures, 4], data: new Float32Array(m.outFeatures * 4) }
    ]
  ])
)
/** A reward of the kind story-requests needs: the share of the prompt's name and animal mentioned. */
async function mentions(group: RolloutGroupText): Promise<GroupRewards> {
  const [, name, animal] = /about (\w+) the (\w+)/.exec(group.prompt) ?? []
  return {
    totals: group.completions.map((text) => [name, animal].filter((word) => text.includes(word)).length / 2)
  }
}

describe('online rollouts on stories260K', () => {
  const dir = tempDir('fs-online-rollouts-')
  let generator: LiveGenerator
  const prompts = readTrainingData(STORY_REQUESTS, { tokenizer, maxSeqLen: 256 }).examples.slice(0, 2)
  const options = {
    groupSize: 3,
    temperature: 1,
    topP: 1,
    maxNewTokens: 24,
    maxSeqLen: 256,
    seed: 42,
    step: 1
  }
  beforeAll(async () => {
    generator = await LiveGenerator.open(
      { modelDir: STORIES_260K },
      { kind: 'lora', r: 4, scaling: 2, modules },
      { cacheDir: join(dir.dir, 'cache'), threads: 1 }
    )
  })
  afterAll(async () => {
    await generator.release()
    dir.cleanup()
  })

  it('answers each prompt G times and makes rollout examples of the groups, scored', async () => {
    const scored: RolloutGroupText[] = []
    const result = await onlineRollouts(generator, weights, prompts, tokenizer, options, async (group) => {
      scored.push(group)
      return mentions(group)
    })
    expect(result.examples).toHaveLength(6)
    expect(scored.map((group) => group.line)).toEqual(prompts.map((p) => p.line))
    expect(scored[0].prompt).toContain('Tell me a story about')
    expect(scored[0].reference).toMatch(/^Once upon a time/)
    result.examples.forEach((example, i) => {
      const prompt = prompts[Math.floor(i / 3)]
      const start = prompt.labels.findIndex((label) => label !== IGNORE_INDEX)
      // The prompt as the row has it, untrained; the completion trained; reward and group aboard.
      expect([...example.inputIds.subarray(0, start)]).toEqual([...prompt.inputIds.subarray(0, start)])
      expect([...example.labels.subarray(0, start)].every((label) => label === IGNORE_INDEX)).toBe(true)
      expect([...example.labels.subarray(start)]).toEqual([...example.inputIds.subarray(start)])
      expect(example.rollout).toEqual({
        reward: result.groups[Math.floor(i / 3)].rewards[i % 3],
        group: `${prompt.line}@1`
      })
    })
    expect(result.generatedTokens).toBe(
      result.examples.reduce((n, e) => n + e.labels.filter((l) => l !== IGNORE_INDEX).length, 0)
    )
    // The same step draws the same completions; another step others.
    const again = await onlineRollouts(generator, weights, prompts, tokenizer, options, mentions)
    expect(again.groups.map((g) => g.completions)).toEqual(result.groups.map((g) => g.completions))
    const next = await onlineRollouts(
      generator,
      weights,
      prompts,
      tokenizer,
      { ...options, step: 2 },
      mentions
    )
    expect(next.groups.map((g) => g.completions)).not.toEqual(result.groups.map((g) => g.completions))
  })

  it('follows a plan: a hint as prompt, prefixes trained with their completions, the demonstration row', async () => {
    const generate = (plan?: (prompt: RolloutPrompt) => RolloutGroupPlan) =>
      onlineRollouts(generator, weights, prompts, tokenizer, options, mentions, plan)
    const plain = await generate()
    const planned = await generate(({ demonstration }) => ({
      hint: demonstration.slice(0, 2),
      prefixes: [demonstration.slice(0, 5)],
      demonstration: true
    }))
    expect(planned.examples).toHaveLength(8)
    prompts.forEach((prompt, p) => {
      const start = prompt.labels.findIndex((label) => label !== IGNORE_INDEX)
      const demonstration = [...prompt.labels.subarray(start)]
      const given = [...prompt.inputIds.subarray(0, start), ...demonstration.slice(0, 2)]
      const rows = planned.examples.slice(4 * p, 4 * p + 4)
      for (const row of rows.slice(0, 3)) {
        // Prompt and hint untrained; everything after them trained.
        expect([...row.inputIds.subarray(0, given.length)]).toEqual(given)
        expect([...row.labels.subarray(0, given.length)].every((label) => label === IGNORE_INDEX)).toBe(true)
        expect([...row.labels.subarray(given.length)]).toEqual([...row.inputIds.subarray(given.length)])
      }
      // The last completion starts with the demonstration's first 5 tokens (after the 2 of the hint).
      expect([...rows[2].inputIds.subarray(given.length, given.length + 5)]).toEqual(
        demonstration.slice(0, 5)
      )
      expect(rows[3]).toBe(prompt)
      expect(planned.groups[p]).toMatchObject({
        demonstration: true,
        prompt: tokenizer.decode(given, { skipSpecialTokens: true })
      })
    })
    // Only the hint and prefixes change what is sampled: with neither, a plan draws what no plan does.
    const demonstrationOnly = await generate(() => ({ demonstration: true }))
    expect(demonstrationOnly.groups.map((g) => g.completions)).toEqual(plain.groups.map((g) => g.completions))
    const prefixed = await generate(({ demonstration }) => ({ prefixes: [demonstration.slice(0, 5)] }))
    prefixed.groups.forEach((group, p) =>
      expect(group.completions.slice(0, 2)).toEqual(plain.groups[p].completions.slice(0, 2))
    )
  })

  it('refuses rewards that are not one finite number per completion', async () => {
    await expect(
      onlineRollouts(generator, weights, prompts, tokenizer, options, async () => ({
        totals: [1, Number.NaN, 0]
      }))
    ).rejects.toThrow(/the rewards of line 1 must be 3 finite numbers, got \[1,null,0\]/)
  })
})

/**
 * rewards.test through the API's dispatch, on stories260K: the first train samples with a user turn
 * answered twice each (seeded), every completion scored term by term, totals Σ weight · value, the
 * same seed giving the same completions, a bad spec refused before any job, and a cancel keeping
 * what was scored.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import type {
  CallInput,
  Conversation,
  Events,
  RewardSpecInput,
  RewardTestResult
} from '../../src-preload/contract'
import { useTrainingStore } from './run-fixtures'

const NAMES = ['Zob', 'Mila', 'Tom']

/** A story request whose metadata names who the story must be about (contains_all reads it). */
function request(i: number): Conversation {
  return {
    messages: [
      { role: 'system', content: 'You tell short stories.' },
      { role: 'user', content: `Tell me a story about ${NAMES[i]}.` },
      { role: 'assistant', content: `Once upon a time, ${NAMES[i]} found a red stone.` }
    ],
    metadata: { name: NAMES[i] }
  }
}

const SPEC: RewardSpecInput = {
  terms: [
    { reward: 'contains_all', weight: 2, params: { keys: 'name' } },
    { reward: 'length_penalty', weight: 0.5, params: { max_length: 12, cache_length: 8 } }
  ]
}

describe('rewards.test', () => {
  const fixture = useTrainingStore('fs-rewards-test-')
  let versionId = 0
  let settings: CallInput<'rewards.test'>

  beforeAll(() => {
    const { store } = fixture.api
    const dataset = store.datasets.create({ name: 'story requests', description: '' })
    store.datasets.addSamples(dataset.id, [
      { conversation: { messages: [], text: 'A raw text has no prompt.' }, split: 'train' },
      {
        conversation: {
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'assistant', content: 'Nobody asked.' }
          ]
        },
        split: 'train'
      },
      { conversation: request(0), split: 'validation' },
      { conversation: request(1), split: 'train' },
      { conversation: request(2), split: 'train' }
    ])
    versionId = store.datasets.cutVersion(dataset.id, 'test').id
    settings = {
      baseModelId: fixture.inputs.baseModelId,
      datasetVersionId: versionId,
      spec: SPEC,
      prompts: 2,
      completions: 2,
      maxNewTokens: 16,
      seed: 7
    }
  })

  let first: RewardTestResult

  it('answers the first train prompts and scores every completion term by term', async () => {
    const progress: Events['job.progress'][] = []
    const stop = fixture.api.events.subscribe((event, payload) => {
      if (event === 'job.progress') progress.push(payload as Events['job.progress'])
    })
    first = await fixture.api.call('rewards.test', settings)
    stop()

    // Raw text and a conversation without a user turn are passed over; validation samples are not read.
    expect(first.skipped).toEqual([
      { position: 0, sampleId: expect.any(Number), reason: 'raw_text' },
      { position: 1, sampleId: expect.any(Number), reason: 'no_user_turn' }
    ])
    expect(first.skippedCount).toBe(2)
    expect(first.cancelled).toBe(false)
    expect(first.prompts.map((prompt) => prompt.position)).toEqual([3, 4])
    first.prompts.forEach((prompt, i) => {
      // The whole conversation up to the user turn, through the (fallback) chat template.
      expect(prompt.prompt).toContain('You tell short stories.')
      expect(prompt.prompt).toContain(`User: Tell me a story about ${NAMES[i + 1]}.`)
      expect(prompt.prompt.trimEnd().endsWith('Assistant:')).toBe(true)
      expect(prompt.reference).toBe(`Once upon a time, ${NAMES[i + 1]} found a red stone.`)
      expect(prompt.completions).toHaveLength(2)
      for (const completion of prompt.completions) {
        expect(completion.tokenCount).toBeGreaterThan(0)
        expect(completion.tokenCount).toBeLessThanOrEqual(16)
        expect(completion.terms.map((term) => [term.reward, term.weight])).toEqual([
          ['contains_all', 2],
          ['length_penalty', 0.5]
        ])
        const [mentions, length] = completion.terms
        expect(mentions.value).toBe(completion.text.includes(NAMES[i + 1]) ? 1 : 0)
        expect(length.reason).toBe(`${completion.tokenCount} tokens`)
        expect(length.value).toBeCloseTo(Math.max(-1, Math.min(0, (4 - completion.tokenCount) / 8)), 12)
        expect(completion.total).toBeCloseTo(2 * mentions.value + 0.5 * length.value, 12)
      }
    })
    // Each completion of a prompt is sampled with a seed of its own.
    expect(first.prompts.some((prompt) => prompt.completions[0].text !== prompt.completions[1].text)).toBe(
      true
    )

    const completions = first.prompts.flatMap((prompt) => prompt.completions)
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length
    expect(first.meanTotal).toBeCloseTo(mean(completions.map((c) => c.total)), 12)
    expect(first.meanTerms).toEqual([
      { reward: 'contains_all', weight: 2, mean: expect.any(Number) },
      { reward: 'length_penalty', weight: 0.5, mean: expect.any(Number) }
    ])
    first.meanTerms.forEach((term, t) =>
      expect(term.mean).toBeCloseTo(mean(completions.map((c) => c.terms[t].value)), 12)
    )

    expect(fixture.api.jobs.get(first.jobId)).toMatchObject({ kind: 'rewards.test', status: 'completed' })
    const counted = progress.filter((event) => event.jobId === first.jobId && event.done > 0)
    expect(counted.map((event) => event.done)).toEqual([1, 2, 3, 4])
    expect(counted.at(-1)).toMatchObject({ total: 4, message: 'prompt 2 of 2, completion 2 of 2' })
  })

  it('gives the same completions and scores for the same seed, others for another', async () => {
    const again = await fixture.api.call('rewards.test', settings)
    expect(again.jobId).not.toBe(first.jobId)
    expect({ ...again, jobId: '' }).toEqual({ ...first, jobId: '' })
    const reseeded = await fixture.api.call('rewards.test', { ...settings, seed: 8 })
    expect(reseeded.prompts.map((p) => p.completions.map((c) => c.text))).not.toEqual(
      first.prompts.map((p) => p.completions.map((c) => c.text))
    )
  })

  it('refuses a bad spec as invalid input naming the term, before any job starts', async () => {
    const jobsBefore = fixture.api.jobs.list().length
    await expect(
      fixture.api.call('rewards.test', {
        ...settings,
        spec: { terms: [SPEC.terms[0], { reward: 'length_penalty', weight: 1, params: { max_length: 4 } }] }
      })
    ).rejects.toMatchObject({
      code: 'invalid_input',
      message: 'rewards: term 1 (length_penalty): parameter cache_length (1024) must be ≤ max_length (4)'
    })
    await expect(
      fixture.api.call('rewards.test', { ...settings, spec: { terms: [{ reward: 'vibes', weight: 1 }] } })
    ).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('rewards: term 0: unknown reward "vibes"')
    })
    expect(fixture.api.jobs.list()).toHaveLength(jobsBefore)
  })

  it('names the operation for a missing dataset version, and refuses a version without prompts', async () => {
    await expect(
      fixture.api.call('rewards.test', { ...settings, datasetVersionId: 9999 })
    ).rejects.toMatchObject({
      code: 'not_found',
      message: 'rewards.test: dataset version 9999 does not exist'
    })
    const { store } = fixture.api
    const dataset = store.datasets.create({ name: 'raw', description: '' })
    store.datasets.addSamples(dataset.id, [
      { conversation: { messages: [], text: 'Only text.' }, split: 'train' }
    ])
    const raw = store.datasets.cutVersion(dataset.id, 'raw').id
    await expect(
      fixture.api.call('rewards.test', { ...settings, datasetVersionId: raw })
    ).rejects.toMatchObject({
      code: 'invalid_input',
      message: `rewards.test: dataset version ${raw} has no train sample with a user turn to prompt the model with (1 raw-text or without a user turn)`
    })
  })

  it('is cancelled through jobs.cancel and keeps the completions scored before', async () => {
    const stop = fixture.api.events.subscribe((event, payload) => {
      const progress = payload as Events['job.progress']
      if (event === 'job.progress' && progress.kind === 'rewards.test' && progress.done === 1) {
        stop()
        void fixture.api.call('jobs.cancel', { id: progress.jobId })
      }
    })
    const result = await fixture.api.call('rewards.test', {
      ...settings,
      completions: 8,
      maxNewTokens: 200
    })
    expect(result.cancelled).toBe(true)
    const scored = result.prompts.flatMap((prompt) => prompt.completions)
    expect(scored.length).toBeGreaterThanOrEqual(1)
    expect(scored.length).toBeLessThan(16)
    expect(fixture.api.jobs.get(result.jobId)?.status).toBe('cancelled')
  })
})

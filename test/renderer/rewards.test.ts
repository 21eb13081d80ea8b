/**
 * The new-run form's Rewards panel without a DOM: a spec composed from the reward declarations and
 * kept in the run draft, its JSON following the terms and setting them, and the test on five
 * prompts through a scripted bridge — the call it sends, the job it follows and stops, the results
 * and an error shown in the panel.
 */
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import type { RewardInfo, RewardTestResult } from '../../src-preload/contract'
import {
  buildRewardSpec,
  parseRewardSpecJson,
  rewardSpecJson,
  type RewardTermDraft
} from '../../src-renderer/src/components/rewards/rewardSpec'
import { useRewardsTestStore } from '../../src-renderer/src/stores/rewardsTest'
import { useRunDraftStore } from '../../src-renderer/src/stores/runDraft'
import { installScriptedBridge, ok, settle } from './scripted-bridge'

const bridge = installScriptedBridge()
/** Four of the declarations, as rewards.list gives them (descriptions shortened). */
const REWARDS: RewardInfo[] = [
  {
    name: 'contains_all',
    title: 'Mentions the required words',
    description: 'The share (0 to 1) of the required words the completion mentions.',
    paper: null,
    params: [
      { name: 'keys', type: 'text', default: 'name,animal', maxLength: 500, description: 'metadata keys' }
    ]
  },
  {
    name: 'length_penalty',
    title: 'Overlong penalty (DAPO)',
    description: '0 up to max_length − cache_length, then falling linearly to −1 at max_length.',
    paper: null,
    params: [
      { name: 'max_length', type: 'integer', default: 4096, min: 1, description: 'L_max' },
      { name: 'cache_length', type: 'integer', default: 1024, min: 1, description: 'L_cache' }
    ]
  },
  {
    name: 'regex_match',
    title: 'Matches a pattern',
    description: '1 when the pattern matches.',
    paper: null,
    params: [
      { name: 'pattern', type: 'text', default: '\\S', maxLength: 1000, description: 'the pattern' },
      { name: 'mode', type: 'choice', choices: ['search', 'full'], default: 'search', description: 'how' }
    ]
  },
  {
    name: 'exact_match',
    title: 'Equals the reference',
    description: '1 when the completion equals the gold answer.',
    paper: null,
    params: [
      { name: 'reference_key', type: 'text', default: '', maxLength: 200, description: 'metadata key' },
      { name: 'ignore_case', type: 'boolean', default: false, description: 'compare case-insensitively' }
    ]
  }
]

function testResult(): RewardTestResult {
  const completion = (text: string, mentions: number, length: number) => ({
    text,
    tokenCount: 10,
    finishReason: 'length' as const,
    total: 2 * mentions + 0.5 * length,
    terms: [
      { reward: 'contains_all', weight: 2, value: mentions },
      { reward: 'length_penalty', weight: 0.5, value: length, reason: '10 tokens' }
    ]
  })
  return {
    jobId: 'job-7',
    prompts: [
      {
        position: 0,
        sampleId: 11,
        prompt: 'User: Tell me a story about Zob.\nAssistant:',
        reference: 'Zob found a stone.',
        completions: [completion('Zob ran.', 1, 0), completion('It rained.', 0, -0.25)]
      }
    ],
    skipped: [],
    skippedCount: 0,
    meanTotal: 0.9375,
    meanTerms: [
      { reward: 'contains_all', weight: 2, mean: 0.5 },
      { reward: 'length_penalty', weight: 0.5, mean: -0.125 }
    ],
    cancelled: false
  }
}

beforeEach(() => {
  setActivePinia(createPinia())
  bridge.reset()
  bridge.handle('rewards.list', () => ok(REWARDS))
})

describe('reward spec drafts', () => {
  it('builds the spec, or names the term and the field that keeps it from being one', () => {
    expect(buildRewardSpec({ terms: [] })).toEqual({ spec: null, problems: ['Add a reward'] })
    const terms: RewardTermDraft[] = [
      { reward: 'contains_all', weight: '', params: { keys: 'name' } },
      { reward: 'length_penalty', weight: 0.5, params: { max_length: '', cache_length: 8 } }
    ]
    expect(buildRewardSpec({ terms }).problems).toEqual([
      'Reward 1 (contains_all): the weight must be a number',
      'Reward 2 (length_penalty): parameter max_length must be a value'
    ])
    terms[0].weight = 2
    terms[1].params.max_length = 12
    expect(buildRewardSpec({ terms })).toEqual({
      spec: {
        terms: [
          { reward: 'contains_all', weight: 2, params: { keys: 'name' } },
          { reward: 'length_penalty', weight: 0.5, params: { max_length: 12, cache_length: 8 } }
        ]
      },
      problems: []
    })
  })

  it('reads JSON back into terms, filling in a known reward’s defaults, and says what is wrong', () => {
    const parsed = parseRewardSpecJson(
      '{"terms": [{"reward": "length_penalty", "weight": 1, "params": {"max_length": 12}}]}',
      REWARDS
    )
    expect(parsed).toEqual({
      terms: [{ reward: 'length_penalty', weight: 1, params: { max_length: 12, cache_length: 1024 } }]
    })
    expect(parseRewardSpecJson('{"terms": [', REWARDS)).toMatchObject({
      error: expect.stringMatching(/^Not JSON: /)
    })
    expect(parseRewardSpecJson('[]', REWARDS)).toEqual({
      error: 'The spec must be an object with a "terms" list'
    })
    expect(parseRewardSpecJson('{"terms": [{"reward": "exact_match", "weight": "1"}]}', REWARDS)).toEqual({
      error: 'term 0: "weight" must be a number'
    })
    expect(
      parseRewardSpecJson('{"terms": [{"reward": "exact_match", "weight": 1, "scale": 2}]}', REWARDS)
    ).toEqual({ error: 'term 0: unknown field "scale" (reward, weight, params)' })
    expect(
      parseRewardSpecJson('{"terms": [{"reward": "exact_match", "weight": 1, "params": {"x": []}}]}', REWARDS)
    ).toEqual({ error: 'term 0: parameter x must be a text, a number or true/false' })
  })
})

describe('useRewardsTestStore', () => {
  /** A store with the rewards listed and two terms composed: contains_all × 2 and length_penalty × 0.5. */
  async function composed() {
    const store = useRewardsTestStore()
    await store.load()
    store.addTerm('contains_all')
    store.addTerm('length_penalty')
    store.spec.terms[0].weight = 2
    store.spec.terms[0].params = { ...store.spec.terms[0].params, keys: 'name' }
    store.spec.terms[1].weight = 0.5
    await settle()
    return store
  }

  it('composes terms in the run draft with each reward’s defaults, the JSON following', async () => {
    const store = await composed()
    const draft = useRunDraftStore().draft
    expect(draft.rewardSpec.terms).toEqual([
      { reward: 'contains_all', weight: 2, params: { keys: 'name' } },
      { reward: 'length_penalty', weight: 0.5, params: { max_length: 4096, cache_length: 1024 } }
    ])
    expect(JSON.parse(store.jsonText)).toEqual({ terms: draft.rewardSpec.terms })

    // Another reward in a term's place takes its defaults and keeps the weight.
    store.chooseReward(1, 'regex_match')
    expect(draft.rewardSpec.terms[1]).toEqual({
      reward: 'regex_match',
      weight: 0.5,
      params: { pattern: '\\S', mode: 'search' }
    })
    store.removeTerm(0)
    await settle()
    expect(draft.rewardSpec.terms.map((term) => term.reward)).toEqual(['regex_match'])
    expect(JSON.parse(store.jsonText).terms).toHaveLength(1)
  })

  it('sets the terms from edited JSON, keeping the text as typed; bad JSON leaves them alone', async () => {
    const store = await composed()
    const typed = '{"terms":[{"reward":"exact_match","weight":3}]}'
    store.editJson(typed)
    await settle()
    expect(store.jsonError).toBeNull()
    expect(store.jsonText).toBe(typed)
    expect(store.spec.terms).toEqual([
      { reward: 'exact_match', weight: 3, params: { reference_key: '', ignore_case: false } }
    ])

    store.editJson('{"terms": [{"reward": 1}]}')
    expect(store.jsonError).toBe('term 0: "reward" must be a reward’s name')
    expect(store.spec.terms.map((term) => term.reward)).toEqual(['exact_match'])

    // An edit in the form rewrites the JSON from the terms.
    store.spec.terms[0].weight = 4
    await settle()
    expect(store.jsonError).toBeNull()
    expect(store.jsonText).toBe(rewardSpecJson(store.spec))
  })

  it('tests the spec on five prompts with the form’s model, data and seed, following its job', async () => {
    const store = await composed()
    expect(store.problems).toEqual(['Choose a base model', 'Choose a dataset version'])
    expect(store.canTest).toBe(false)
    const draft = useRunDraftStore().draft
    draft.baseModelId = 3
    draft.datasetVersionId = 9
    draft.seed = 42
    expect(store.canTest).toBe(true)

    let answer: (value: RewardTestResult) => void = () => {}
    bridge.handle('rewards.test', () => new Promise((resolve) => (answer = (value) => resolve(ok(value)))))
    bridge.handle('jobs.cancel', () =>
      ok({
        id: 'job-7',
        kind: 'rewards.test',
        status: 'cancelled',
        progress: null,
        error: null,
        createdAt: '2026-01-01T00:00:00.000Z'
      })
    )
    const testing = store.test()
    await settle()
    expect(store.testing).toBe(true)
    const [sent] = bridge.callsOf('rewards.test')
    expect(sent).toMatchObject({
      baseModelId: 3,
      datasetVersionId: 9,
      prompts: 5,
      completions: 2,
      maxNewTokens: 64,
      temperature: 1,
      seed: 42,
      spec: {
        terms: [
          { reward: 'contains_all', weight: 2, params: { keys: 'name' } },
          { reward: 'length_penalty', weight: 0.5, params: { max_length: 4096, cache_length: 1024 } }
        ]
      }
    })

    // Another window's test is not ours; ours is named by the echoed requestId.
    bridge.emit('job.output', { jobId: 'job-other', requestId: 'someone-else', text: '' })
    bridge.emit('job.progress', { jobId: 'job-other', kind: 'rewards.test', done: 3, total: 4, message: '' })
    expect(store.jobId).toBeNull()
    expect(store.progress).toBeNull()
    bridge.emit('job.output', { jobId: 'job-7', requestId: sent.requestId!, text: '' })
    bridge.emit('job.progress', {
      jobId: 'job-7',
      kind: 'rewards.test',
      done: 1,
      total: 10,
      message: 'prompt 1 of 5, completion 1 of 2'
    })
    expect(store.jobId).toBe('job-7')
    expect(store.progress).toEqual({ done: 1, total: 10, message: 'prompt 1 of 5, completion 1 of 2' })

    await store.stop()
    expect(bridge.callsOf('jobs.cancel')).toEqual([{ id: 'job-7' }])

    answer({ ...testResult(), cancelled: true })
    await testing
    expect(store.testing).toBe(false)
    expect(store.result?.cancelled).toBe(true)
    expect(store.result?.prompts[0].completions.map((c) => c.terms.map((t) => t.value))).toEqual([
      [1, 0],
      [0, -0.25]
    ])
    expect(store.error).toBeNull()
  })

  it('shows a refused test in the panel and keeps no stale result', async () => {
    const store = await composed()
    const draft = useRunDraftStore().draft
    draft.baseModelId = 3
    draft.datasetVersionId = 9
    bridge.handle('rewards.test', () => ok(testResult()))
    await store.test()
    expect(store.result?.meanTotal).toBe(0.9375)

    bridge.handle('rewards.test', () => ({
      ok: false,
      error: {
        code: 'invalid_input',
        message: 'rewards: term 1 (length_penalty): parameter cache_length (1024) must be ≤ max_length (4)'
      }
    }))
    await store.test()
    expect(store.error).toBe(
      'rewards: term 1 (length_penalty): parameter cache_length (1024) must be ≤ max_length (4)'
    )
    expect(store.result).toBeNull()
  })

  it('follows the draft when the form is reset: the new draft’s spec is the one composed', async () => {
    const store = await composed()
    useRunDraftStore().reset()
    await settle()
    expect(store.spec.terms).toEqual([])
    store.addTerm('exact_match')
    expect(useRunDraftStore().draft.rewardSpec.terms.map((term) => term.reward)).toEqual(['exact_match'])
  })
})

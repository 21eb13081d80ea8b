/**
 * Reward specs: terms checked against the declarations (the error names the term and parameter),
 * total = Σ weight · value with each term kept, and the registry's declarations themselves.
 */
import { describe, expect, it } from 'vitest'
import { listRewards, resolveRewardSpec, RewardSpecError, scoreRows } from '../../src-main/rewards'

const row = {
  prompt: 'What is 2 + 2?',
  completion: '<think>2 + 2 = 4</think>\n<answer>4</answer>',
  reference: '4',
  metadata: {}
}

describe('reward specs', () => {
  it('totals weight · value over the terms and keeps each term with its reason', async () => {
    const spec = {
      terms: [
        { reward: 'format_check', weight: 0.5 },
        { reward: 'numeric_match', weight: 2, params: { extract: 'last' } },
        { reward: 'exact_match', weight: 1 }
      ]
    }
    const [score] = await scoreRows(spec, [row])
    expect(score).toEqual({
      total: 2.5,
      terms: [
        { reward: 'format_check', weight: 0.5, value: 1 },
        { reward: 'numeric_match', weight: 2, value: 1 },
        { reward: 'exact_match', weight: 1, value: 0, reason: 'differs from the gold answer' }
      ]
    })
  })

  it('scores every row, in order, with negative weights and values counted as they are', async () => {
    const spec = {
      terms: [
        { reward: 'numeric_match', weight: 1 },
        { reward: 'length_penalty', weight: 0.5, params: { max_length: 10, cache_length: 5 } }
      ]
    }
    const rows = [
      { ...row, completion: '4' },
      { ...row, completion: 'It is 4, I am sure' },
      { ...row, completion: 'Five.' }
    ]
    const scores = await scoreRows(spec, rows)
    expect(scores.map((score) => score.total)).toEqual([1, 0.5, 0])
    expect(scores[1].terms[1]).toEqual({
      reward: 'length_penalty',
      weight: 0.5,
      value: -1,
      reason: '18 characters'
    })
  })

  it('names the term and parameter a spec gets wrong', async () => {
    const cases: [unknown[], string | RegExp][] = [
      [
        [{ reward: 'exact', weight: 1 }],
        /^rewards: term 0: unknown reward "exact"; known: exact_match, numeric_match, /
      ],
      [
        [
          { reward: 'exact_match', weight: 1 },
          { reward: 'numeric_match', weight: 1, params: { tolerance: 0.1 } }
        ],
        'rewards: term 1 (numeric_match): unknown parameter "tolerance"; known: extract, relative_tolerance, absolute_tolerance, reference_key'
      ],
      [
        [{ reward: 'numeric_match', weight: 1, params: { extract: 'first' } }],
        'rewards: term 0 (numeric_match): parameter extract must be one of auto, boxed, hashes, last, got "first"'
      ],
      [
        [{ reward: 'numeric_match', weight: 1, params: { relative_tolerance: -1 } }],
        'rewards: term 0 (numeric_match): parameter relative_tolerance must be ≥ 0, got -1'
      ],
      [
        [{ reward: 'exact_match', weight: Number.NaN }],
        'rewards: term 0 (exact_match): weight must be a finite number, got NaN'
      ],
      [[], 'rewards: the spec has no terms']
    ]
    for (const [terms, message] of cases) {
      const attempt = resolveRewardSpec({ terms: terms as never })
      await expect(attempt).rejects.toBeInstanceOf(RewardSpecError)
      await expect(attempt).rejects.toThrow(message)
    }
  })

  it('declares every reward with a description, finite defaults and a citation with its arXiv link', () => {
    const names = listRewards().map((reward) => reward.name)
    expect(names).toEqual([
      'exact_match',
      'numeric_match',
      'regex_match',
      'format_check',
      'contains_all',
      'tool_call_match',
      'sql_execution_match',
      'length_penalty',
      'benchmark_metric'
    ])
    for (const reward of listRewards()) {
      expect(reward.name, reward.name).toMatch(/^[a-z][a-z_]*$/)
      expect(reward.description.length, reward.name).toBeGreaterThan(20)
      if (reward.paper?.arxiv) expect(reward.paper.url, reward.name).toContain(reward.paper.arxiv)
    }
    const cited = Object.fromEntries(listRewards().map((reward) => [reward.name, reward.paper?.arxiv]))
    expect(cited).toMatchObject({
      tool_call_match: '2504.13958',
      length_penalty: '2503.14476',
      sql_execution_match: '2504.15077'
    })
  })
})

/**
 * rewards.list and rewards.score through the API's dispatch: declarations as plain data, scores per
 * row and term, and a spec the declarations refuse as invalid input naming the term.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { rewardInfo } from '../../src-main/api/rewards'
import { listRewards } from '../../src-main/rewards'
import { tempDir } from '../helpers/temp'
import { openApi } from './run-fixtures'

describe('rewards API', () => {
  const temp = tempDir('fs-rewards-api-')
  const api = openApi(temp.dir)
  afterAll(async () => {
    await api.dispose()
    temp.cleanup()
  })

  it('lists every reward as plain data: a text parameter’s check stays in main', async () => {
    const listed = await api.call('rewards.list', {})
    expect(listed).toEqual(listRewards().map(rewardInfo))
    expect(structuredClone(listed)).toEqual(listed)
    const pattern = listed.find((r) => r.name === 'regex_match')?.params.find((p) => p.name === 'pattern')
    expect(pattern).toMatchObject({ type: 'text', default: '\\S', maxLength: 1000 })
    expect(pattern).not.toHaveProperty('check')
  })

  it('scores rows with a spec: the total and each term with its reason', async () => {
    const scores = await api.call('rewards.score', {
      spec: {
        terms: [
          { reward: 'contains_all', weight: 2 },
          { reward: 'exact_match', weight: 1, params: { ignore_case: 'true' } }
        ]
      },
      rows: [
        {
          prompt: 'Tell me a story about Mia the cat.',
          completion: 'Mia the cat slept.',
          metadata: { name: 'Mia', animal: 'cat' }
        },
        { prompt: 'Say hi.', completion: 'HI', reference: 'hi', metadata: { name: 'Mia', animal: 'cat' } }
      ]
    })
    expect(scores).toEqual([
      {
        total: 2,
        terms: [
          { reward: 'contains_all', weight: 2, value: 1 },
          { reward: 'exact_match', weight: 1, value: 0, reason: 'the row has no reference' }
        ]
      },
      {
        total: 1,
        terms: [
          { reward: 'contains_all', weight: 2, value: 0, reason: 'does not mention Mia, cat' },
          { reward: 'exact_match', weight: 1, value: 1 }
        ]
      }
    ])
  })

  it('answers a spec the declarations refuse with invalid_input naming the term and parameter', async () => {
    const attempt = api.call('rewards.score', {
      spec: {
        terms: [{ reward: 'sql_execution_match', weight: 1, params: { database: '/no/such/file.sqlite' } }]
      },
      rows: [{ prompt: '', completion: 'SELECT 1', reference: 'SELECT 1' }]
    })
    await expect(attempt).rejects.toMatchObject({
      code: 'invalid_input',
      message:
        'rewards: term 0 (sql_execution_match): parameter database: /no/such/file.sqlite does not exist'
    })
    await expect(api.call('rewards.score', { spec: { terms: [] }, rows: [] })).rejects.toMatchObject({
      code: 'invalid_input'
    })
  })
})

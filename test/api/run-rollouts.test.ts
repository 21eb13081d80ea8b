/**
 * runs.rollouts through the API's dispatch: a grpo run on its own samples, started with runs.start
 * and trained by its job worker on stories260K, lists the steps it generated rollouts at and gives
 * one step's prompts with their completions, rewards and advantages; a run without rollouts (sft)
 * has none, and an unknown run or step is not found.
 */
import { describe, expect, it } from 'vitest'
import { quickRun, useTrainingStore } from './run-fixtures'

const REWARDS = JSON.stringify({
  terms: [{ reward: 'length_penalty', weight: 1, params: { max_length: 40, cache_length: 30 } }]
})

describe('runs.rollouts', () => {
  const fixture = useTrainingStore('fs-run-rollouts-')

  it('gives the steps of a grpo run’s rollouts and one step’s groups, the latest by default', async () => {
    const run = await fixture.api.call(
      'runs.start',
      quickRun(fixture.inputs, {
        recipe: 'grpo',
        recipeParams: { rewards: REWARDS, group_size: 2, max_completion_length: 12 },
        batchSize: 4,
        maxSteps: 3
      })
    )
    expect((await fixture.api.runs.waitForRun(run.id)).status).toBe('completed')
    const latest = await fixture.api.call('runs.rollouts', { id: run.id })
    expect(latest.steps).toEqual([1, 2, 3])
    expect(latest.step).toBe(3)
    expect(latest.groups).toHaveLength(2)
    for (const group of latest.groups) {
      expect(group.prompt).toContain('Tell me a story about')
      expect(group.completions).toHaveLength(2)
      for (const completion of group.completions) {
        expect(completion.reward).toBe(completion.terms!.length_penalty)
        expect(completion.advantage).not.toBeNull()
      }
    }
    const first = await fixture.api.call('runs.rollouts', { id: run.id, step: 1 })
    expect(first.step).toBe(1)
    expect(first.groups).toHaveLength(2)
    await expect(fixture.api.call('runs.rollouts', { id: run.id, step: 9 })).rejects.toMatchObject({
      code: 'not_found',
      message: `runs.rollouts: run ${run.id} has no rollouts at step 9`
    })
  }, 120_000)

  it('has nothing for a run without rollouts; an unknown run is not found', async () => {
    const run = await fixture.api.call('runs.start', quickRun(fixture.inputs, { maxSteps: 2 }))
    expect((await fixture.api.runs.waitForRun(run.id)).status).toBe('completed')
    expect(await fixture.api.call('runs.rollouts', { id: run.id })).toEqual({
      steps: [],
      step: null,
      groups: []
    })
    await expect(fixture.api.call('runs.rollouts', { id: 999 })).rejects.toMatchObject({ code: 'not_found' })
  }, 60_000)
})

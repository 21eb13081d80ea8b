/**
 * Pipelines through the API's dispatch (runs.start with `stages`), trained by their job worker on
 * stories260K: SFT then grpo on its own samples as one run on one step timeline (segments per stage,
 * reward points and rollouts in the grpo stage's steps, checkpoints numbered across the run);
 * pause, stop and resume across the stages give the bits of an uninterrupted run; data-overlap
 * control and mixtures choose the rows they say, and refuse what the data cannot give.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  lossesOf,
  nextEvent,
  quickRun,
  sameBits,
  statusIs,
  useTrainingStore,
  type TestApi
} from './run-fixtures'

const REWARDS = JSON.stringify({
  terms: [{ reward: 'length_penalty', weight: 1, params: { max_length: 40, cache_length: 30 } }]
})

/** A version of 8 stories the fixture's version also has (its first 8 prompts) and 8 it has not. */
function cutOverlappingVersion(api: TestApi): number {
  const dataset = api.store.datasets.create({ name: 'more dragons', description: '' })
  const names = ['Zob', 'Mila', 'Tom', 'Ana', 'Kai', 'Lu', 'Ben', 'Eve']
  const rows = Array.from({ length: 16 }, (_, i) => ({
    conversation: {
      messages: [
        { role: 'user' as const, content: `Tell me a story about ${names[i % 8]}${i < 8 ? '' : ' again'}.` },
        { role: 'assistant' as const, content: `${names[i % 8]} the dragon flew home. It was happy.` }
      ]
    },
    split: 'train' as const
  }))
  api.store.datasets.addSamples(dataset.id, rows)
  return api.store.datasets.cutVersion(dataset.id, 'overlap').id
}

describe('pipelines', () => {
  const fixture = useTrainingStore('fs-run-pipeline-')
  let overlapping: number
  beforeAll(() => {
    overlapping = cutOverlappingVersion(fixture.api)
  })

  it('trains SFT then grpo as one run: one timeline, reward points and rollouts in the grpo stage', async () => {
    const run = await fixture.api.call(
      'runs.start',
      quickRun(fixture.inputs, {
        maxSteps: 3,
        saveEvery: 0,
        stages: [
          {
            recipe: 'grpo',
            recipeParams: { rewards: REWARDS, group_size: 2, max_completion_length: 12 },
            datasetVersionId: fixture.inputs.datasetVersionId,
            batchSize: 4,
            maxSteps: 3,
            lr: 0.005
          }
        ]
      })
    )
    expect(run.name).toBe('sft → grpo-lora on stories260K')
    const done = await fixture.api.runs.waitForRun(run.id)
    expect(done).toMatchObject({ status: 'completed', progress: { step: 6, totalSteps: 6 } })
    const detail = await fixture.api.call('runs.get', { id: run.id })
    expect(
      detail.segments.map(({ kind, fromStep, totalSteps, stage }) => [kind, stage, fromStep, totalSteps])
    ).toEqual([
      ['start', 1, 0, 3],
      ['start', 2, 3, 6]
    ])
    expect(detail.checkpoints.map((c) => c.step)).toEqual([3, 6])
    const metrics = fixture.api.store.runs.metrics(run.id)
    expect(metrics.filter((p) => p.name === 'loss').map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6])
    const stageTwoRates = metrics.filter((p) => p.name === 'lr' && p.step > 3).map((p) => p.value)
    expect(stageTwoRates[0]).toBe(0.005)
    expect(stageTwoRates[2]).toBeLessThan(stageTwoRates[1])
    expect(metrics.filter((p) => p.name === 'recipe/rewards/mean').map((p) => p.step)).toEqual([4, 5, 6])
    const rollouts = await fixture.api.call('runs.rollouts', { id: run.id })
    expect(rollouts.steps).toEqual([4, 5, 6])
    expect((await fixture.api.call('runs.rollouts', { id: run.id, step: 4 })).groups).toHaveLength(2)
    // The run's result is the last stage's adapter, in the run's folder as for a one-stage run.
    expect(existsSync(join(detail.outDir!, 'adapter_model.safetensors'))).toBe(true)
    expect(existsSync(join(detail.outDir!, 'stages', '1', 'adapter_model.safetensors'))).toBe(true)
  }, 180_000)

  it('pauses, stops and resumes across the stage boundary to the bits of an uninterrupted run', async () => {
    const settings = quickRun(fixture.inputs, {
      maxSteps: 6,
      saveEvery: 0,
      lrScheduler: 'constant',
      stages: [{ recipe: 'dft', recipeParams: {}, datasetVersionId: overlapping, maxSteps: 6, lr: 0.02 }]
    })
    const reference = await fixture.api.call('runs.start', settings)
    expect((await fixture.api.runs.waitForRun(reference.id)).status).toBe('completed')

    const run = await fixture.api.call('runs.start', settings)
    await nextEvent(fixture.api, 'run.progress', (p) => p.runId === run.id && p.step >= 2)
    const paused = statusIs(fixture.api, run.id, 'paused')
    await fixture.api.call('runs.pause', { id: run.id })
    await paused
    await fixture.api.call('runs.resume', { id: run.id })
    await nextEvent(fixture.api, 'run.progress', (p) => p.runId === run.id && p.step >= 7)
    const stopped = statusIs(fixture.api, run.id, 'stopped')
    await fixture.api.call('runs.stop', { id: run.id })
    await stopped
    const atStop = await fixture.api.call('runs.get', { id: run.id })
    expect(atStop.checkpoints.at(-1)!.path).toMatch(/[/\\]checkpoints[/\\]step-\d+$/)
    expect(atStop.progress!.step).toBeGreaterThanOrEqual(7)

    await fixture.api.call('runs.resume', { id: run.id })
    expect((await fixture.api.runs.waitForRun(run.id)).status).toBe('completed')
    expect(sameBits(lossesOf(fixture.api, run.id), lossesOf(fixture.api, reference.id))).toBe(true)
    const segments = (await fixture.api.call('runs.get', { id: run.id })).segments
    expect(segments.map((s) => [s.kind, s.stage])).toEqual([
      ['start', 1],
      ['start', 2],
      ['resume', 2]
    ])
  }, 180_000)

  it('controls the overlap of a later stage’s prompts with the earlier stages’, and reports it', async () => {
    const pipeline = (overlap?: number) =>
      quickRun(fixture.inputs, {
        maxSteps: 2,
        stages: [{ recipe: 'sft', recipeParams: {}, datasetVersionId: overlapping, maxSteps: 2, overlap }]
      })
    const measured = await fixture.api.call('runs.preflight', pipeline())
    expect(measured.stages.map((s) => [s.stage, s.rows, s.overlap])).toEqual([
      [1, 16, null],
      [2, 16, { share: null, seen: 4, unseen: 12 }]
    ])
    const none = await fixture.api.call('runs.preflight', pipeline(0))
    expect(none.stages[1].overlap).toEqual({ share: 0, seen: 0, unseen: 12 })
    const half = await fixture.api.call('runs.preflight', pipeline(0.5))
    expect(half.stages[1]).toMatchObject({ rows: 8, overlap: { share: 0.5, seen: 4, unseen: 4 } })
    const all = await fixture.api.call('runs.preflight', pipeline(1))
    expect(all.ok).toBe(true)
    expect(all.stages[1]).toMatchObject({ rows: 4, overlap: { share: 1, seen: 4, unseen: 0 } })

    const run = await fixture.api.call('runs.start', pipeline(0))
    const trained = readFileSync(
      join(fixture.api.store.runs.getRecord(run.id)!.outDir!, 'data', 'stage-2', 'train.jsonl'),
      'utf8'
    )
    expect(trained.trim().split('\n')).toHaveLength(12)
    expect(trained).toContain('again')
    await fixture.api.runs.waitForRun(run.id)
  }, 120_000)

  it('mixes dataset versions by ratio, without repeats unless a size asks for them', async () => {
    const mixed = (rows?: number) =>
      quickRun(fixture.inputs, {
        maxSteps: 2,
        mixture: {
          sources: [
            { datasetVersionId: fixture.inputs.datasetVersionId, ratio: 3 },
            { datasetVersionId: overlapping, ratio: 1 }
          ],
          rows
        }
      })
    const largest = await fixture.api.call('runs.preflight', mixed())
    expect(largest.stages[0].mixture).toEqual([
      { datasetVersionId: fixture.inputs.datasetVersionId, rows: 16 },
      { datasetVersionId: overlapping, rows: 5 }
    ])
    expect(largest.data.trainSamples).toBe(21)
    const repeated = await fixture.api.call('runs.preflight', mixed(40))
    expect(repeated.stages[0].mixture!.map((m) => m.rows)).toEqual([30, 10])
  }, 120_000)

  it('refuses what the data or the stages cannot give, naming the stage', async () => {
    const noNewPrompts = quickRun(fixture.inputs, {
      maxSteps: 2,
      stages: [
        { recipe: 'sft', recipeParams: {}, datasetVersionId: fixture.inputs.datasetVersionId, overlap: 0 }
      ]
    })
    const refused = await fixture.api.call('runs.preflight', noNewPrompts)
    expect(refused.ok).toBe(false)
    expect(refused.errors.join('\n')).toMatch(
      /stage 2: overlap 0 needs rows whose prompts the earlier stages did not train on; of its 16 rows, 16 ask a prompt they trained on and 0 do not/
    )
    await expect(fixture.api.call('runs.start', noNewPrompts)).rejects.toMatchObject({
      code: 'invalid_input'
    })
    await expect(
      fixture.api.call(
        'runs.start',
        quickRun(fixture.inputs, {
          stages: [{ recipe: 'nope', recipeParams: {}, datasetVersionId: overlapping }]
        })
      )
    ).rejects.toThrow(/unknown recipe "nope"/)
    const badMixture = quickRun(fixture.inputs, {
      mixture: { sources: [{ datasetVersionId: overlapping, ratio: 1 }] }
    })
    await expect(fixture.api.call('runs.start', badMixture)).rejects.toThrow(
      /a mixture's first source must be the dataset version it trains/
    )
  }, 120_000)
})

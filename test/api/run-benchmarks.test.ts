/**
 * Benchmarks during training through the API on the embedded stories260K: a run that names tasks
 * has the checkpoints of every N-th step and of its last step evaluated (stored per checkpoint, with
 * the run and checkpoint), their headline metrics drawn as run metrics at those steps; continuing
 * the run evaluates its new benchmark steps, reusing what was evaluated and redoing what an
 * interruption cut short; a stop's checkpoint is evaluated too; a task that cannot be read refuses
 * the run before it trains.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { EvaluationSummary } from '../../src-preload/contract'
import { nextEvent, quickRun, statusIs, useTrainingStore } from './run-fixtures'

const ACC = 'eval/arc_easy/acc,none'

describe('benchmarks during training', () => {
  const fixture = useTrainingStore('fs-run-benchmarks-')

  /** The run's evaluations, oldest first, each with the step of its checkpoint. */
  function evaluationsOf(runId: number): EvaluationSummary[] {
    return fixture.api.store.evaluations.list({ runId }).sort((a, b) => a.id - b.id)
  }

  function accuracyPoints(runId: number): [number, number][] {
    return fixture.api.store.runs.metrics(runId, { name: ACC }).map((p) => [p.step, p.value])
  }

  /** Starts a run of `maxSteps` that evaluates arc_easy (its first `limit` documents) every `every` steps. */
  function startBenchmarkedRun(maxSteps: number, every: number, limit: number) {
    return fixture.api.call(
      'runs.start',
      quickRun(fixture.inputs, { maxSteps, saveEvery: 0, benchmarks: { tasks: ['arc_easy'], every, limit } })
    )
  }

  async function trainToEnd(runId: number): Promise<void> {
    expect((await fixture.api.runs.waitForRun(runId)).status).toBe('completed')
    await fixture.api.runs.benchmarksSettled(runId)
  }

  it('evaluates every N-th checkpoint and the last, and draws their accuracy as run metrics', async () => {
    const run = await startBenchmarkedRun(10, 4, 4)
    await trainToEnd(run.id)

    const detail = await fixture.api.call('runs.get', { id: run.id })
    expect(detail.checkpoints.map((c) => c.step)).toEqual([4, 8, 10])
    const evaluations = evaluationsOf(run.id)
    expect(evaluations.map((e) => [e.task, e.status, e.step, e.itemCount, e.runId])).toEqual([
      ['arc_easy', 'completed', 4, 4, run.id],
      ['arc_easy', 'completed', 8, 4, run.id],
      ['arc_easy', 'completed', 10, 4, run.id]
    ])
    expect(evaluations.map((e) => e.checkpointId)).toEqual(detail.checkpoints.map((c) => c.id))
    expect(accuracyPoints(run.id)).toEqual(evaluations.map((e) => [e.step, e.scores['acc,none'].value]))
    expect(fixture.api.store.evaluations.get(evaluations[0].id)!.settings).toMatchObject({
      limit: 4,
      device: 'cpu'
    })
    expect(fixture.api.store.runs.logs(run.id).map((line) => line.message)).toContain(
      `benchmark arc_easy at step 10: acc,none ${evaluations[2].scores['acc,none'].value.toFixed(4)} ± ` +
        evaluations[2].scores['acc,none'].stderr!.toFixed(4)
    )
  }, 300_000)

  it('on continue evaluates the new benchmark steps, reusing finished ones, redoing interrupted ones', async () => {
    const run = await startBenchmarkedRun(6, 3, 2)
    await trainToEnd(run.id)
    const [atThree, atSix] = evaluationsOf(run.id)
    expect([atThree.step, atSix.step]).toEqual([3, 6])
    // As if the process had died while evaluating step 3.
    fixture.api.store.evaluations.setStatus(atThree.id, 'interrupted', 'cancelled')

    await fixture.api.call('runs.continue', { id: run.id, addSteps: 3 })
    await trainToEnd(run.id)
    const after = evaluationsOf(run.id)
    expect(after.filter((e) => e.status === 'completed').map((e) => e.step)).toEqual([6, 3, 9])
    expect(after.filter((e) => e.step === 6).map((e) => e.id)).toEqual([atSix.id])
    expect(accuracyPoints(run.id).map(([step]) => step)).toEqual([3, 6, 9])
  }, 300_000)

  it('evaluates the checkpoint a stop saves: the end of the run as it stands', async () => {
    const run = await startBenchmarkedRun(5000, 4000, 2)
    await nextEvent(fixture.api, 'run.progress', (p) => p.runId === run.id && p.step >= 3)
    const stopped = statusIs(fixture.api, run.id, 'stopped')
    await fixture.api.call('runs.stop', { id: run.id })
    await stopped
    await fixture.api.runs.benchmarksSettled(run.id)
    const stopStep = fixture.api.store.runs.getSummary(run.id)!.progress!.step
    expect(evaluationsOf(run.id).map((e) => [e.step, e.status])).toEqual([[stopStep, 'completed']])
    expect(accuracyPoints(run.id).map(([step]) => step)).toEqual([stopStep])
  }, 120_000)

  it('refuses a run whose benchmark task cannot be read, before recording it', async () => {
    const before = fixture.api.store.runs.list({ limit: 100 }).length
    await expect(
      fixture.api.call(
        'runs.start',
        quickRun(fixture.inputs, { benchmarks: { tasks: ['arc_easy', 'no_such_task'] } })
      )
    ).rejects.toThrow(
      /^runs\.start: benchmarks: task "no_such_task" is neither a built-in task nor an existing file/
    )
    const file = join(fixture.folder, 'custom.yaml')
    writeFileSync(file, 'task: custom\ndataset_path: json\nprocess_docs: !function utils.process\n')
    await expect(
      fixture.api.call('runs.start', quickRun(fixture.inputs, { benchmarks: { tasks: [file] } }))
    ).rejects.toThrow(/^runs\.start: benchmarks: .*custom\.yaml.*process_docs/)
    expect(fixture.api.store.runs.list({ limit: 100 })).toHaveLength(before)

    const preflight = await fixture.api.call(
      'runs.preflight',
      quickRun(fixture.inputs, { benchmarks: { tasks: ['no_such_task'] } })
    )
    expect(preflight.ok).toBe(false)
    expect(preflight.errors).toEqual([expect.stringMatching(/^benchmarks: task "no_such_task" is neither/)])
    const sparse = await fixture.api.call(
      'runs.preflight',
      quickRun(fixture.inputs, { maxSteps: 40, benchmarks: { tasks: ['arc_easy'], every: 100 } })
    )
    expect(sparse.ok).toBe(true)
    expect(sparse.warnings).toContain(
      'benchmarks every 100 steps: the run has 40, so only its last checkpoint is evaluated'
    )
  }, 120_000)
})

/**
 * Benchmarks during training in the run workspace: the new-run form's section (built-in tasks,
 * every N steps, documents per task) as runs.start settings, and the run's charts of the benchmark
 * metrics, fetched when an evaluation of the open run's checkpoint completes.
 */
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import type { EvaluationDetail, MetricPoint } from '../../src-preload/contract'
import {
  benchmarkMetricNames,
  fractionRange,
  metricLabel
} from '../../src-renderer/src/components/runs/metricSeries'
import { runSettingRows } from '../../src-renderer/src/components/runs/runSettings'
import { buildRunSettings, defaultRunDraft, useRunDraftStore } from '../../src-renderer/src/stores/runDraft'
import { useRunMonitorStore } from '../../src-renderer/src/stores/runMonitor'
import { evalTaskInfo, evaluationDetail, runDetail } from './replies'
import { installScriptedBridge, ok, settle } from './scripted-bridge'

const bridge = installScriptedBridge()

beforeEach(() => {
  setActivePinia(createPinia())
  bridge.reset()
})

describe('the new-run form: benchmarks during training', () => {
  const chosen = { ...defaultRunDraft(), baseModelId: 3, datasetVersionId: 5 }

  it('sends no benchmarks while no task is chosen', () => {
    expect(buildRunSettings(chosen).settings).not.toHaveProperty('benchmarks')
  })

  it('sends the chosen tasks, the interval and the documents per task (empty: all)', () => {
    const benchmarks = { tasks: ['arc_easy', 'gsm8k'], every: 20, limit: 50 }
    expect(buildRunSettings({ ...chosen, benchmarks }).settings!.benchmarks).toEqual(benchmarks)
    const all = buildRunSettings({ ...chosen, benchmarks: { ...benchmarks, every: 0, limit: '' } })
    expect(all.settings!.benchmarks).toEqual({ tasks: ['arc_easy', 'gsm8k'], every: 0, limit: null })
  })

  it('names an emptied interval instead of building settings', () => {
    const { settings, problems } = buildRunSettings({
      ...chosen,
      benchmarks: { tasks: ['arc_easy'], every: '', limit: 50 }
    })
    expect(settings).toBeNull()
    expect(problems).toEqual(['Benchmark every must be a number'])
  })

  it('lists the built-in tasks and keeps the chosen ones in their order, whatever the clicks', async () => {
    bridge.handle('evaluations.tasks', () =>
      ok([
        evalTaskInfo('arc_easy', 'multiple_choice'),
        evalTaskInfo('gsm8k', 'generate_until'),
        evalTaskInfo('mmlu', 'multiple_choice')
      ])
    )
    const store = useRunDraftStore()
    await store.loadBenchmarkTasks()
    expect(store.benchmarkTasks.map((t) => t.name)).toEqual(['arc_easy', 'gsm8k', 'mmlu'])
    store.toggleBenchmarkTask('mmlu', true)
    store.toggleBenchmarkTask('arc_easy', true)
    store.toggleBenchmarkTask('gsm8k', true)
    store.toggleBenchmarkTask('gsm8k', false)
    expect(store.draft.benchmarks.tasks).toEqual(['arc_easy', 'mmlu'])
    Object.assign(store.draft, { baseModelId: 3, datasetVersionId: 5 })
    expect(store.built.settings!.benchmarks).toEqual({ tasks: ['arc_easy', 'mmlu'], every: 100, limit: 50 })
  })

  it("shows a run's benchmarks among its settings", () => {
    const rows = runSettingRows({ saveEvery: 0, benchmarks: { tasks: ['arc_easy'], every: 20, limit: 50 } })
    expect(rows.map((row) => [row.label, row.text])).toEqual([
      ['Checkpoint every (steps)', '0'],
      ['Benchmarks', 'arc_easy'],
      ['Benchmark every (steps)', '20'],
      ['Benchmark documents per task', '50']
    ])
  })
})

describe('benchmark metrics in the run charts', () => {
  it('labels them by task and metric, leaving out the filter "none"', () => {
    expect(metricLabel('eval/arc_easy/acc,none')).toBe('arc_easy: acc')
    expect(metricLabel('eval/gsm8k/exact_match,strict-match')).toBe('gsm8k: exact_match (strict-match)')
    expect(metricLabel('eval_loss')).toBe('Validation loss')
  })

  it('picks them out of the run metrics', () => {
    expect(
      benchmarkMetricNames(['loss', 'eval_loss', 'eval/mmlu/acc,none', 'recipe/kl', 'eval/arc_easy/acc,none'])
    ).toEqual(['eval/arc_easy/acc,none', 'eval/mmlu/acc,none'])
  })

  it('draws fractions on the whole [0, 1] range and anything else fitted to its values', () => {
    expect(
      fractionRange([
        [10, 0.25],
        [20, 0.5]
      ])
    ).toEqual([0, 1])
    expect(fractionRange([[10, 12.5]])).toBeUndefined()
    expect(fractionRange([])).toBeUndefined()
  })
})

describe('useRunMonitorStore: benchmark points', () => {
  /** A completed evaluation of a checkpoint at step 20 of the given run. */
  function evaluation(id: number, runId: number): EvaluationDetail {
    return evaluationDetail(id, {
      name: 'arc_easy: run 7 @ step 20',
      runId,
      checkpointId: 3,
      baseModelId: null,
      step: 20,
      targetKey: 'checkpoint:3',
      targetLabel: 'run 7 @ step 20',
      status: 'completed',
      scores: { 'acc,none': { value: 0.5, stderr: 0.1, higherIsBetter: true } },
      primaryMetric: 'acc,none',
      itemCount: 4
    })
  }

  it("fetches the point of a completed evaluation of the open run's checkpoint, whatever step it is at", async () => {
    const stored: MetricPoint[] = [{ step: 40, name: 'loss', value: 1 }]
    bridge.handle('runs.get', () => ok(runDetail(7, 'completed')))
    bridge.handle('runs.log', () => ok([]))
    bridge.handle('runs.metrics', ({ name, afterStep = -1 }) =>
      ok(stored.filter((p) => (name === undefined || p.name === name) && p.step > afterStep))
    )
    bridge.handle('evaluations.get', (input) => ok(evaluation(input.id, input.id === 1 ? 7 : 8)))
    const monitor = useRunMonitorStore()
    monitor.select(7)
    await settle()
    expect(monitor.metrics.pointCount('eval/arc_easy/acc,none')).toBe(0)

    // The benchmark of step 20 completes after the run went past step 40.
    stored.push({ step: 20, name: 'eval/arc_easy/acc,none', value: 0.5 })
    bridge.emit('evaluation.status', { evaluationId: 2, status: 'completed', error: null }) // another run's
    bridge.emit('evaluation.status', { evaluationId: 1, status: 'running', error: null })
    await settle()
    expect(bridge.callsOf('runs.metrics').filter((call) => call.name !== undefined)).toEqual([])

    bridge.emit('evaluation.status', { evaluationId: 1, status: 'completed', error: null })
    await settle()
    expect(bridge.callsOf('runs.metrics').at(-1)).toEqual({ id: 7, name: 'eval/arc_easy/acc,none' })
    expect(monitor.metrics.line('eval/arc_easy/acc,none')).toEqual([[20, 0.5]])
  })
})

/**
 * The run workspace's logic without a DOM: smoothing, which controls each status allows, queue
 * positions, trained-span highlighting, metric lines, the new-run settings, and the stores that
 * follow a live run, talking to a scripted preload bridge.
 */
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Events, MetricPoint, RunComparison, RunStatus } from '../../src-preload/contract'
import { MetricLines } from '../../src-renderer/src/components/runs/metricSeries'
import { activityParts } from '../../src-renderer/src/components/statusActivity'
import {
  formatBytes,
  formatDuration,
  formatSetting,
  formatStepTime
} from '../../src-renderer/src/components/runs/runFormat'
import { labelledDiff, runSettingRows, settingText } from '../../src-renderer/src/components/runs/runSettings'
import { availableRunActions, queuePositions } from '../../src-renderer/src/components/runs/runStatus'
import { emaSmooth } from '../../src-renderer/src/components/runs/smoothing'
import { splitTrainedSpans } from '../../src-renderer/src/components/runs/trainedSpans'
import { formatNumber } from '../../src-renderer/src/format'
import type { JobState } from '../../src-renderer/src/stores/jobs'
import {
  buildRunSettings,
  defaultRunDraft,
  defaultStageDraft,
  draftTakesRewards,
  rewardedDataVersion
} from '../../src-renderer/src/stores/runDraft'
import { stageSpans } from '../../src-renderer/src/components/runs/runStages'
import {
  CATCH_UP_DELAY_MS,
  REDRAW_INTERVAL_MS,
  useRunMonitorStore
} from '../../src-renderer/src/stores/runMonitor'
import {
  defaultCompareMetric,
  differingLossDefinitions,
  useRunCompareStore
} from '../../src-renderer/src/stores/runCompare'
import { useRunsStore } from '../../src-renderer/src/stores/runs'
import { useToastStore } from '../../src-renderer/src/stores/toasts'
import { runDetail, runSummary } from './replies'
import { installScriptedBridge, ok, type Reply } from './scripted-bridge'

const bridge = installScriptedBridge()

/** Lets pending promise callbacks and Vue's queued watchers run (fake timers included). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}

function progressEvent(runId: number, step: number, loss: number): Events['run.progress'] {
  return {
    runId,
    step,
    totalSteps: 100,
    epoch: 0,
    loss,
    lr: 1e-4,
    gradNorm: 1,
    tokensPerSecond: 500,
    elapsedSeconds: step,
    etaSeconds: 100 - step
  }
}

beforeEach(() => {
  setActivePinia(createPinia())
  bridge.reset()
})

afterEach(() => vi.useRealTimers())

describe('emaSmooth', () => {
  it('returns the values unchanged with weight 0', () => {
    expect(emaSmooth([3, 1, 2], 0)).toEqual([3, 1, 2])
  })

  it('is bias-corrected: a constant curve stays at its value from the first point on', () => {
    for (const value of emaSmooth([2, 2, 2, 2], 0.9)) expect(value).toBeCloseTo(2, 12)
  })

  it('follows the TensorBoard recurrence', () => {
    const weight = 0.5
    // average: 0.5·0 + 0.5·4 = 2 → /(1 − 0.5) = 4; then 0.5·2 + 0.5·2 = 2 → /(1 − 0.25) = 8/3
    expect(emaSmooth([4, 2], weight)).toEqual([4, 2 / 0.75])
  })

  it('passes non-finite values through without disturbing the average', () => {
    const smoothed = emaSmooth([1, Number.NaN, 1], 0.6)
    expect(smoothed[1]).toBeNaN()
    expect(smoothed[2]).toBeCloseTo(1, 12)
  })

  it('refuses a weight of 1 or more, which would never move', () => {
    expect(() => emaSmooth([1], 1)).toThrow(/weight must be in \[0, 1\), got 1/)
  })
})

describe('availableRunActions', () => {
  const cases: [RunStatus, string[]][] = [
    ['queued', ['cancel']],
    ['running', ['pause', 'stop', 'cancel']],
    ['paused', ['resume', 'stop', 'cancel']],
    ['stopping', ['cancel']],
    ['stopped', ['continue', 'delete']],
    ['completed', ['continue', 'delete']],
    ['failed', ['delete']],
    ['cancelled', ['delete']],
    ['interrupted', ['resume', 'continue', 'delete']]
  ]

  it.each(cases)('offers exactly what the backend accepts when %s', (status, actions) => {
    expect([...availableRunActions({ status, pendingControl: null })].sort()).toEqual([...actions].sort())
  })

  it('offers nothing while a control request is still pending', () => {
    expect(availableRunActions({ status: 'running', pendingControl: 'pause' }).size).toBe(0)
  })
})

describe('queuePositions', () => {
  it('numbers queued runs per device in creation order and leaves the others out', () => {
    const runs = [
      runSummary(4, 'queued'),
      runSummary(3, 'queued', { device: 'cuda' }),
      runSummary(2, 'queued'),
      runSummary(1, 'running')
    ]
    expect(queuePositions(runs)).toEqual(
      new Map([
        [2, 1],
        [4, 2],
        [3, 1]
      ])
    )
  })
})

describe('splitTrainedSpans', () => {
  it('marks the trained ranges, sorted, merged where they overlap and clipped to the text', () => {
    expect(
      splitTrainedSpans('User: hi\nAssistant: hello', [
        { start: 20, end: 99 },
        { start: 9, end: 12 },
        { start: 10, end: 11 }
      ])
    ).toEqual([
      { text: 'User: hi\n', trained: false },
      { text: 'Ass', trained: true },
      { text: 'istant: ', trained: false },
      { text: 'hello', trained: true }
    ])
  })

  it('gives the whole text untrained when nothing is trained', () => {
    expect(splitTrainedSpans('abc', [])).toEqual([{ text: 'abc', trained: false }])
  })
})

describe('MetricLines', () => {
  it('keeps one value per step and metric, in step order, the latest winning', () => {
    const lines = new MetricLines()
    lines.add([
      { step: 2, name: 'loss', value: 2 },
      { step: 1, name: 'loss', value: 3 },
      { step: 1, name: 'eval_loss', value: 4 }
    ])
    lines.add([{ step: 2, name: 'loss', value: 1.5 }])
    expect(lines.line('loss')).toEqual([
      [1, 3],
      [2, 1.5]
    ])
    expect(lines.pointCount('loss')).toBe(2)
    expect(lines.lastStep()).toBe(2)
    expect(lines.line('lr')).toEqual([])
  })
})

describe('run formatting', () => {
  it('speaks of durations, sizes, metrics and step times the way people read them', () => {
    expect([formatDuration(42), formatDuration(75), formatDuration(3720), formatDuration(-1)]).toEqual([
      '42s',
      '1m 15s',
      '1h 2m',
      '—'
    ])
    expect([formatBytes(512), formatBytes(1536), formatBytes(6.61 * 1024 ** 2)]).toEqual([
      '512 B',
      '1.5 KiB',
      '6.61 MiB'
    ])
    expect([formatStepTime(0.0082), formatStepTime(1.5)]).toEqual(['8.2 ms/step', '1.5 s/step'])
  })

  it('formats every number one way: whole ones in full, others to 4 significant digits', () => {
    expect(
      [1.234567, 0.00019953, 0.0002, 0, 3.9983098591549298, 12345.678, 7473, 1_100_000, -0.5].map(
        formatNumber
      )
    ).toEqual(['1.235', '1.995e-4', '2e-4', '0', '3.998', '12,350', '7,473', '1,100,000', '-0.5'])
    // Settings tables use it for their numbers.
    expect(
      [3.9983098591549298, null, 'cosine', ['q_proj', 'v_proj'], [0.9, 0.999]].map((value) =>
        formatSetting(value)
      )
    ).toEqual(['3.998', '—', 'cosine', 'q_proj, v_proj', '0.9, 0.999'])
  })
})

describe('activityParts', () => {
  const job = (id: string, kind: string, status: JobState['status']): JobState => ({
    id,
    kind,
    status,
    error: null,
    progress: null
  })

  it('counts a paused run as paused, not as a running job', () => {
    // A paused run's training job is still running: it holds the model in memory.
    const jobs = [job('t', 'engine.train', 'running')]
    expect(activityParts(jobs, [runSummary(1, 'paused')])).toEqual(['1 run paused'])
    expect(activityParts(jobs, [runSummary(1, 'running')])).toEqual(['1 job running'])
  })

  it('counts running jobs and training runs, and leaves out queued and finished ones', () => {
    const jobs = [
      job('a', 'dataset.import', 'running'),
      job('b', 'engine.generate', 'queued'),
      job('c', 'dataset.preflight', 'completed'),
      job('t', 'engine.train', 'running')
    ]
    const runs = [
      runSummary(1, 'running'),
      runSummary(2, 'paused'),
      runSummary(3, 'queued'),
      runSummary(4, 'paused')
    ]
    expect(activityParts(jobs, runs)).toEqual(['2 jobs running', '2 runs paused'])
    expect(activityParts([], [runSummary(1, 'completed')])).toEqual([])
  })
})

describe('buildRunSettings', () => {
  it('names what is missing instead of building settings', () => {
    const draft = { ...defaultRunDraft(), batchSize: '' as const }
    const { settings, problems } = buildRunSettings(draft)
    expect(settings).toBeNull()
    expect(problems).toEqual([
      'Choose a base model',
      'Choose a dataset version',
      'Batch size must be a number'
    ])
  })

  it('sends grpo the Rewards panel’s spec as its rewards parameter, and asks for one', () => {
    const grpo = {
      ...defaultRunDraft(),
      baseModelId: 3,
      datasetVersionId: 5,
      recipe: 'grpo',
      recipeParams: { rewards: '', group_size: 4 }
    }
    expect(buildRunSettings(grpo).problems).toEqual(['Rewards: Add a reward'])
    const term = { reward: 'contains_all', weight: 1, params: { keys: 'name,animal' } }
    const { settings, problems } = buildRunSettings({ ...grpo, rewardSpec: { terms: [term] } })
    expect(problems).toEqual([])
    expect(settings?.recipeParams).toEqual({ group_size: 4, rewards: JSON.stringify({ terms: [term] }) })
  })

  it('builds a pipeline: later stages with their recipe, data and schedule, grpo stages with the spec', () => {
    const term = { reward: 'contains_all', weight: 1, params: { keys: 'name' } }
    const draft = {
      ...defaultRunDraft(),
      baseModelId: 3,
      datasetVersionId: 5,
      rewardSpec: { terms: [term] },
      stages: [
        { ...defaultStageDraft(), recipeParams: { rewards: '', group_size: 4 }, overlap: 0.5 as const },
        { ...defaultStageDraft('dft'), datasetVersionId: 9, maxSteps: 7, lr: 1e-4, batchSize: 2 }
      ]
    }
    const { settings, problems } = buildRunSettings(draft)
    expect(problems).toEqual([])
    expect(settings?.stages).toEqual([
      {
        recipe: 'grpo',
        recipeParams: { group_size: 4, rewards: JSON.stringify({ terms: [term] }) },
        datasetVersionId: 5,
        maxSteps: 20,
        overlap: 0.5
      },
      { recipe: 'dft', recipeParams: {}, datasetVersionId: 9, maxSteps: 7, lr: 1e-4, batchSize: 2 }
    ])
    expect(draftTakesRewards(draft)).toBe(true)
    expect(rewardedDataVersion({ ...draft, stages: [{ ...draft.stages[0], datasetVersionId: 8 }] })).toBe(8)
    const missing = buildRunSettings({
      ...draft,
      rewardSpec: { terms: [] },
      stages: [{ ...draft.stages[0], maxSteps: '' }]
    })
    expect(missing.problems).toEqual(['Rewards: Add a reward', 'Stage 2: steps must be a number'])
    expect(buildRunSettings({ ...draft, stages: [] }).settings).not.toHaveProperty('stages')
  })

  it('mixes other datasets into a stage’s data by ratio, its own data first', () => {
    const draft = {
      ...defaultRunDraft(),
      baseModelId: 3,
      datasetVersionId: 5,
      mixWith: [{ datasetVersionId: 7, ratio: 1 as const }],
      ownRatio: 3 as const,
      stages: [
        {
          ...defaultStageDraft('sft'),
          datasetVersionId: 9,
          mixWith: [{ datasetVersionId: 5, ratio: 2 as const }]
        }
      ]
    }
    const { settings, problems } = buildRunSettings(draft)
    expect(problems).toEqual([])
    expect(settings?.mixture).toEqual({
      sources: [
        { datasetVersionId: 5, ratio: 3 },
        { datasetVersionId: 7, ratio: 1 }
      ]
    })
    expect(settings?.stages?.[0].mixture).toEqual({
      sources: [
        { datasetVersionId: 9, ratio: 1 },
        { datasetVersionId: 5, ratio: 2 }
      ]
    })
    const bad = buildRunSettings({ ...draft, mixWith: [{ datasetVersionId: null, ratio: 0 }] })
    expect(bad.problems).toEqual([
      'Data: choose the data to mix in',
      'Data: mixture ratios must be numbers > 0'
    ])
    expect(buildRunSettings({ ...draft, mixWith: [] }).settings).not.toHaveProperty('mixture')
  })

  it('refuses samples the chat template loses content of unless the box to skip them is ticked', () => {
    const chosen = { ...defaultRunDraft(), baseModelId: 3, datasetVersionId: 5 }
    expect(buildRunSettings(chosen).settings?.templateDrops).toBe('refuse')
    expect(buildRunSettings({ ...chosen, skipTemplateDrops: true }).settings?.templateDrops).toBe('skip')
  })

  it('leaves empty optional fields to the engine and sends LoRA settings only for LoRA', () => {
    const lora = buildRunSettings({ ...defaultRunDraft(), baseModelId: 3, datasetVersionId: 5 })
    expect(lora.problems).toEqual([])
    expect(lora.settings).toMatchObject({
      baseModelId: 3,
      datasetVersionId: 5,
      adapter: 'lora',
      lora: { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] },
      epochs: 1
    })
    expect(lora.settings).not.toHaveProperty('lr')
    expect(lora.settings).not.toHaveProperty('maxSteps')
    expect(lora.settings).not.toHaveProperty('maxSeqLen')

    const full = buildRunSettings({
      ...defaultRunDraft(),
      baseModelId: 3,
      datasetVersionId: 5,
      adapter: 'full',
      freezeEmbeddings: true,
      lengthBy: 'steps',
      maxSteps: 40,
      lr: 1e-5,
      name: '  tuned  '
    })
    expect(full.settings).toMatchObject({
      adapter: 'full',
      freezeEmbeddings: true,
      maxSteps: 40,
      lr: 1e-5,
      name: 'tuned'
    })
    expect(full.settings).not.toHaveProperty('lora')
    expect(full.settings).not.toHaveProperty('epochs')
  })

  it('sends the memory settings; a chosen base precision only for LoRA, full fine-tuning fp32', () => {
    const chosen = { ...defaultRunDraft(), baseModelId: 3, datasetVersionId: 5 }
    expect(buildRunSettings(chosen).settings).toMatchObject({ basePrecision: 'fp32', recompute: true })
    const lean = { ...chosen, basePrecision: 'int4' as const, recompute: false }
    expect(buildRunSettings(lean).settings).toMatchObject({ basePrecision: 'int4', recompute: false })
    expect(buildRunSettings({ ...lean, adapter: 'full' }).settings).toMatchObject({
      basePrecision: 'fp32',
      recompute: false
    })
  })
})

describe('useRunsStore', () => {
  it('replaces a run with the reply of a control request and keeps it busy meanwhile', async () => {
    let answer: (reply: Reply<'runs.pause'>) => void = () => {}
    bridge.handle('runs.list', () => ok([runSummary(1, 'running')]))
    bridge.handle('runs.pause', () => new Promise((resolve) => (answer = resolve)))
    const runs = useRunsStore()
    await runs.load()

    const request = runs.control(1, 'pause')
    await settle()
    expect(runs.busy.has(1)).toBe(true)
    answer(ok(runSummary(1, 'running', { pendingControl: 'pause' })))
    await request

    expect(bridge.callsOf('runs.pause')).toEqual([{ id: 1 }])
    expect(runs.busy.has(1)).toBe(false)
    expect(runs.byId.get(1)?.pendingControl).toBe('pause')
  })

  it('shows a refused request as a toast and leaves the run as it was', async () => {
    bridge.handle('runs.list', () => ok([runSummary(1, 'running')]))
    bridge.handle('runs.delete', () => ({
      ok: false,
      error: { code: 'conflict', message: 'runs.delete: run 1 is running' }
    }))
    const runs = useRunsStore()
    await runs.load()
    expect(await runs.remove(1)).toBe(false)
    expect(runs.runs.map((run) => run.id)).toEqual([1])
    expect(useToastStore().toasts.map((toast) => toast.message)).toEqual(['runs.delete: run 1 is running'])
  })

  it('keeps progress and status current from events', async () => {
    let listed = [runSummary(1, 'running')]
    bridge.handle('runs.list', () => ok(listed))
    const runs = useRunsStore()
    await runs.load()

    bridge.emit('run.progress', progressEvent(1, 7, 1.25))
    expect(runs.byId.get(1)?.progress).toMatchObject({ step: 7, loss: 1.25, totalSteps: 100 })

    // The status at once; what changes with it (pending request, times) from the list right after.
    listed = [runSummary(1, 'paused', { startedAt: '2026-01-01T00:01:00.000Z' })]
    bridge.emit('run.status', { runId: 1, status: 'paused', error: null })
    expect(runs.byId.get(1)?.status).toBe('paused')
    await settle()
    expect(runs.byId.get(1)?.startedAt).toBe('2026-01-01T00:01:00.000Z')
  })
})

describe('useRunMonitorStore', () => {
  function serveRun(id: number, stored: MetricPoint[]): void {
    bridge.handle('runs.get', () => ok(runDetail(id, 'running')))
    bridge.handle('runs.log', () => ok([]))
    bridge.handle('runs.metrics', ({ afterStep = -1 }) =>
      ok(stored.filter((point) => point.step > afterStep))
    )
  }

  it('appends progress events to the lines at once and catches up stored points after them', async () => {
    vi.useFakeTimers()
    const stored: MetricPoint[] = [{ step: 1, name: 'loss', value: 2 }]
    serveRun(11, stored)
    const monitor = useRunMonitorStore()
    monitor.select(11)
    await settle()
    expect(bridge.callsOf('runs.metrics')).toEqual([{ id: 11, afterStep: -1 }])
    expect(monitor.metrics.line('loss')).toEqual([[1, 2]])

    bridge.emit('run.progress', progressEvent(11, 2, 1.5))
    bridge.emit('run.progress', progressEvent(12, 2, 9)) // another run: not ours
    expect(monitor.metrics.line('loss')).toEqual([
      [1, 2],
      [2, 1.5]
    ])
    const revision = monitor.metricsRevision
    vi.advanceTimersByTime(REDRAW_INTERVAL_MS)
    expect(monitor.metricsRevision).toBe(revision + 1)

    // Validation loss comes only from the store: the catch-up asks from the step before the last stored one.
    stored.push({ step: 2, name: 'loss', value: 1.5 }, { step: 2, name: 'eval_loss', value: 1.8 })
    vi.advanceTimersByTime(CATCH_UP_DELAY_MS)
    await settle()
    expect(bridge.callsOf('runs.metrics').at(-1)).toEqual({ id: 11, afterStep: 0 })
    expect(monitor.metrics.line('eval_loss')).toEqual([[2, 1.8]])
    expect(monitor.metrics.pointCount('loss')).toBe(2)
  })

  it('drops a reply that arrives after another run was selected', async () => {
    let answer: (reply: Reply<'runs.metrics'>) => void = () => {}
    bridge.handle('runs.get', () => ok(runDetail(21, 'running')))
    bridge.handle('runs.log', () => ok([]))
    bridge.handle('runs.metrics', () => new Promise((resolve) => (answer = resolve)))
    const monitor = useRunMonitorStore()
    monitor.select(21)
    await settle()
    const late = answer
    serveRun(22, [])
    monitor.select(22)
    await settle()
    late(ok([{ step: 5, name: 'loss', value: 7 }]))
    await settle()
    expect(monitor.runId).toBe(22)
    expect(monitor.metrics.pointCount('loss')).toBe(0)
  })

  it("appends the open run's log lines from events, once each", async () => {
    serveRun(31, [])
    bridge.handle('runs.log', () =>
      ok([{ id: 1, runId: 31, at: 'now', level: 'info', message: 'queued on cpu' }])
    )
    const monitor = useRunMonitorStore()
    monitor.select(31)
    await settle()
    bridge.emit('run.log', { id: 1, runId: 31, at: 'now', level: 'info', message: 'queued on cpu' })
    bridge.emit('run.log', { id: 2, runId: 31, at: 'now', level: 'warn', message: 'slow step' })
    bridge.emit('run.log', { id: 3, runId: 32, at: 'now', level: 'info', message: 'another run' })
    expect(monitor.log.map((line) => line.message)).toEqual(['queued on cpu', 'slow step'])
  })
})

describe('run settings as people read them', () => {
  /** A run's resolved configuration as runs.get gives it, after `runs.continue` added 50 steps. */
  const continued = {
    modelDir: '/models/stories260K',
    dataFile: '/store/runs/1/data/train.jsonl',
    outDir: '/store/runs/1',
    cacheDir: '/store/graph-cache',
    resumeFrom: '/store/runs/1/checkpoints/step-100',
    adapter: { kind: 'lora', r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] },
    recipe: { name: 'asft', params: { kl_weight: 0.1 } },
    optimizer: { kind: 'adamw', betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 },
    lr: 0.0002,
    maxSteps: 150,
    epochs: null,
    batchSize: 4,
    device: 'cpu',
    basePrecision: 'int4',
    recompute: false,
    replanSchedule: true,
    request: { maxSteps: 100, batchSize: 4 },
    segments: [{ kind: 'continue', fromStep: 100, totalSteps: 150, at: 'now' }]
  }

  it('lists what the run trains with now, under labels, without paths and internal keys', () => {
    const rows = runSettingRows(continued)
    expect(rows.find((row) => row.key === 'maxSteps')).toEqual({
      key: 'maxSteps',
      label: 'Steps',
      text: '150'
    })
    expect(rows.slice(0, 2).map((row) => [row.label, row.text])).toEqual([
      ['Recipe', 'asft'],
      ['Recipe: kl_weight', '0.1']
    ])
    expect(rows.find((row) => row.key === 'lr')?.text).toBe('2e-4')
    expect(rows.slice(-3).map((row) => [row.label, row.text])).toEqual([
      ['Device', 'cpu'],
      ['Base model precision', 'int4'],
      ['Recompute activations', 'false']
    ])
    const keys = rows.map((row) => row.key)
    for (const internal of [
      'replanSchedule',
      'resumeFrom',
      'outDir',
      'dataFile',
      'cacheDir',
      'modelDir',
      'epochs'
    ])
      expect(keys).not.toContain(internal)
    expect(keys.some((key) => key.startsWith('request') || key.startsWith('segments'))).toBe(false)
  })

  it('labels the settings that differ, in the form order, leaving out keys that are not settings', () => {
    const rows = labelledDiff([
      { key: 'lr', values: { 1: 0.01, 2: 0.02 } },
      { key: 'replanSchedule', values: { 1: true, 2: false } },
      { key: 'recipe.name', values: { 1: 'sft', 2: 'dft' } },
      { key: 'baseModelId', values: { 1: 1, 2: 2 } }
    ])
    expect(rows.map((row) => [row.label, row.key])).toEqual([
      ['Recipe', 'recipe.name'],
      ['Base model', 'baseModelId'],
      ['Learning rate', 'lr']
    ])
    expect(settingText('baseModelId', 2)).toBe('#2')
  })

  it('shows the new total in the monitor once a continue is answered', async () => {
    let config: Record<string, unknown> = { ...continued, maxSteps: 100, replanSchedule: false }
    bridge.handle('runs.get', () => ok(runDetail(1, 'stopped', { config })))
    bridge.handle('runs.log', () => ok([]))
    bridge.handle('runs.metrics', () => ok([]))
    const monitor = useRunMonitorStore()
    monitor.select(1)
    await settle()
    const steps = () => runSettingRows(monitor.detail!.config).find((row) => row.key === 'maxSteps')?.text
    expect(steps()).toBe('100')
    config = continued
    bridge.emit('run.status', { runId: 1, status: 'queued', error: null })
    await settle()
    expect(steps()).toBe('150')
  })
})

describe('useRunCompareStore', () => {
  const series = (runId: number, name: string, steps: number[]) => ({
    runId,
    name,
    points: steps.map((step) => ({ step, value: 1 }))
  })
  const comparison = (extra: Partial<RunComparison>): RunComparison => ({
    runs: [runSummary(1, 'completed', { recipe: 'dft' }), runSummary(2, 'completed')],
    series: [series(1, 'loss', [1, 2]), series(2, 'loss', [1, 2])],
    configDiff: [{ key: 'recipe.name', values: { 1: 'dft', 2: 'sft' } }],
    ...extra
  })

  it('shows validation loss first where every run measured it, training loss otherwise', () => {
    expect(defaultCompareMetric(comparison({}))).toBe('loss')
    const validated = comparison({
      series: [series(1, 'loss', [1]), series(1, 'eval_loss', [0, 2]), series(2, 'eval_loss', [0, 2])]
    })
    expect(defaultCompareMetric(validated)).toBe('eval_loss')
    const half = comparison({ series: [series(1, 'eval_loss', [0]), series(2, 'eval_loss', [])] })
    expect(defaultCompareMetric(half)).toBe('loss')
  })

  it('says when training losses are not comparable: other recipes, or other recipe settings', () => {
    expect(differingLossDefinitions(comparison({}))).toEqual(['dft', 'sft'])
    const asft = comparison({
      runs: [runSummary(1, 'completed', { recipe: 'asft' }), runSummary(2, 'completed', { recipe: 'asft' })],
      configDiff: [{ key: 'recipe.params.kl_weight', values: { 1: 0.1, 2: 1 } }]
    })
    expect(differingLossDefinitions(asft)).toEqual(['asft'])
    expect(
      differingLossDefinitions(comparison({ configDiff: [{ key: 'lr', values: { 1: 1, 2: 2 } }] }))
    ).toBeNull()
  })

  it('keeps the metric the user picked across refreshes', async () => {
    let answer = comparison({ series: [series(1, 'eval_loss', [0]), series(2, 'eval_loss', [0])] })
    bridge.handle('runs.compare', () => ok(answer))
    const store = useRunCompareStore()
    store.toggle(1)
    store.toggle(2)
    await settle()
    expect(store.metric).toBe('eval_loss')
    expect(store.lossDefinitions).toEqual(['dft', 'sft'])
    store.metric = 'lr'
    answer = comparison({})
    await store.refresh()
    expect(store.metric).toBe('lr')
  })
})

describe('stageSpans', () => {
  const stages = [
    { recipe: { name: 'sft' }, maxSteps: 8 },
    { recipe: { name: 'grpo' }, maxSteps: 30 },
    { recipe: { name: 'dft' }, maxSteps: null }
  ]
  const at = '2026-12-03T00:00:00Z'

  it('places a pipeline’s stages on the run’s steps: started ones by their segments, later ones as planned', () => {
    const detail = {
      config: { kind: 'pipeline', stages },
      segments: [
        { kind: 'start' as const, stage: 1, fromStep: 0, totalSteps: 8, at },
        { kind: 'start' as const, stage: 2, fromStep: 8, totalSteps: 38, at },
        { kind: 'resume' as const, stage: 2, fromStep: 20, totalSteps: 38, at }
      ],
      progress: { step: 25 } as never
    }
    expect(stageSpans(detail)).toEqual([
      { stage: 1, recipe: 'sft', fromStep: 0, toStep: 8, state: 'done' },
      { stage: 2, recipe: 'grpo', fromStep: 8, toStep: 38, state: 'current' },
      { stage: 3, recipe: 'dft', fromStep: 38, toStep: null, state: 'waiting' }
    ])
  })

  it('has nothing for a one-stage run', () => {
    expect(stageSpans({ config: { recipe: { name: 'sft' } }, segments: [], progress: null })).toEqual([])
  })
})

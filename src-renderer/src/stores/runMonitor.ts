import { defineStore } from 'pinia'
import { markRaw, ref } from 'vue'
import type { RunDetail, RunLogLine } from '../../../src-preload/contract'
import { benchmarkMetricName } from '../../../src-preload/metric-names'
import { useApi } from '../api'
import { MetricLines } from '../components/runs/metricSeries'
import { useToastStore } from './toasts'

/** Enough of the log to scroll back through; older lines stay in the store (runs.log). */
export const LOG_LINES_KEPT = 2000
/**
 * How long after a progress or status event the stored metrics are fetched: the server writes metric
 * points in batches (at least once a second), and validation loss comes only that way.
 */
export const CATCH_UP_DELAY_MS = 1500
/** Charts redraw at most this often: a small model reports dozens of steps a second. */
export const REDRAW_INTERVAL_MS = 200

/**
 * The run open in the Runs view, watched live: its detail, metric lines and log. Progress events
 * append their point at once; stored points (validation loss, recipe metrics, steps relayed from
 * another process) are caught up from runs.metrics shortly after. A benchmark of one of its
 * checkpoints finishes later than the steps after it, so its point is fetched when it completes.
 */
export const useRunMonitorStore = defineStore('runMonitor', () => {
  const api = useApi()
  const toasts = useToastStore()
  const runId = ref<number | null>(null)
  const detail = ref<RunDetail | null>(null)
  const log = ref<RunLogLine[]>([])
  /** Not deeply reactive (thousands of points); `metricsRevision` changes whenever a line does. */
  const metrics = ref(markRaw(new MetricLines()))
  const metricsRevision = ref(0)

  /** Bumped on every selection, so that a reply for an earlier selection is dropped. */
  let selection = 0
  /** The highest step known to be in the store, so a catch-up fetches only what is newer. */
  let storedStep = -1
  let catchUpTimer: ReturnType<typeof setTimeout> | null = null
  let catchingUp: Promise<void> | null = null
  let catchUpAgain = false

  let redrawTimer: ReturnType<typeof setTimeout> | null = null

  function addPoints(points: Parameters<MetricLines['add']>[0]): void {
    if (points.length === 0) return
    metrics.value.add(points)
    redrawTimer ??= setTimeout(() => {
      redrawTimer = null
      metricsRevision.value++
    }, REDRAW_INTERVAL_MS)
  }

  async function fetchStoredMetrics(): Promise<void> {
    const id = runId.value
    if (id === null) return
    const asked = selection
    try {
      // Points of one step may be split across two writes; asking from the step before the last one
      // seen gets the rest of it, and MetricLines drops what is already there.
      const points = await api.call('runs.metrics', { id, afterStep: Math.max(-1, storedStep - 1) })
      if (asked !== selection) return
      for (const point of points) storedStep = Math.max(storedStep, point.step)
      addPoints(points)
    } catch (error) {
      toasts.showError(error)
    }
  }

  /** Fetches are serialised; a request while one is in flight runs once more after it. */
  function catchUp(): Promise<void> {
    if (catchingUp) {
      catchUpAgain = true
      return catchingUp
    }
    catchingUp = (async () => {
      do {
        catchUpAgain = false
        await fetchStoredMetrics()
      } while (catchUpAgain)
    })().finally(() => {
      catchingUp = null
    })
    return catchingUp
  }

  function scheduleCatchUp(): void {
    catchUpTimer ??= setTimeout(() => {
      catchUpTimer = null
      void catchUp()
    }, CATCH_UP_DELAY_MS)
  }

  async function refreshDetail(): Promise<void> {
    const id = runId.value
    if (id === null) return
    const asked = selection
    try {
      const run = await api.call('runs.get', { id })
      if (asked === selection) detail.value = run
    } catch (error) {
      toasts.showError(error)
    }
  }

  function appendLog(lines: readonly RunLogLine[]): void {
    const known = log.value.length > 0 ? log.value[log.value.length - 1].id : 0
    const fresh = lines.filter((line) => line.id > known)
    if (fresh.length === 0) return
    log.value = [...log.value, ...fresh].slice(-LOG_LINES_KEPT)
  }

  async function fetchLog(): Promise<void> {
    const id = runId.value
    if (id === null) return
    const asked = selection
    const afterId = log.value.length > 0 ? log.value[log.value.length - 1].id : 0
    try {
      const lines = await api.call('runs.log', { id, afterId, limit: LOG_LINES_KEPT })
      if (asked === selection) appendLog(lines)
    } catch (error) {
      toasts.showError(error)
    }
  }

  /** Everything about the open run, fetched again (on selection and after a reconnect). */
  async function reload(): Promise<void> {
    await Promise.all([refreshDetail(), catchUp(), fetchLog()])
  }

  function select(id: number | null): void {
    selection++
    runId.value = id
    detail.value = null
    log.value = []
    metrics.value = markRaw(new MetricLines())
    metricsRevision.value++
    storedStep = -1
    if (catchUpTimer) clearTimeout(catchUpTimer)
    catchUpTimer = null
    if (id !== null) void reload()
  }

  api.on('run.progress', (event) => {
    if (event.runId !== runId.value) return
    addPoints([
      { step: event.step, name: 'loss', value: event.loss },
      { step: event.step, name: 'lr', value: event.lr },
      { step: event.step, name: 'grad_norm', value: event.gradNorm },
      { step: event.step, name: 'tokens_per_s', value: event.tokensPerSecond }
    ])
    scheduleCatchUp()
  })
  api.on('run.status', (event) => {
    if (event.runId !== runId.value) return
    void refreshDetail()
    scheduleCatchUp()
  })
  api.on('run.log', (line) => {
    if (line.runId === runId.value) appendLog([line])
  })

  /** The headline metric of a completed evaluation of the open run's checkpoint, as the run recorded it. */
  async function fetchBenchmarkPoint(evaluationId: number): Promise<void> {
    const id = runId.value
    if (id === null) return
    const asked = selection
    try {
      const evaluation = await api.call('evaluations.get', { id: evaluationId })
      if (asked !== selection || evaluation.runId !== id || evaluation.primaryMetric === null) return
      const name = benchmarkMetricName(evaluation.task, evaluation.primaryMetric)
      const points = await api.call('runs.metrics', { id, name })
      if (asked === selection) addPoints(points)
    } catch (error) {
      toasts.showError(error)
    }
  }
  api.on('evaluation.status', (event) => {
    if (event.status === 'completed' && runId.value !== null) void fetchBenchmarkPoint(event.evaluationId)
  })

  return { runId, detail, log, metrics, metricsRevision, select, reload, refreshDetail }
})

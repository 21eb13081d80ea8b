import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { MetricPoint, RunSummary } from '../../../src-preload/contract'
import { useApi } from '../api'
import { useToastStore } from './toasts'

export const useRunsStore = defineStore('runs', () => {
  const api = useApi()
  const toasts = useToastStore()
  const runs = ref<RunSummary[]>([])
  const loaded = ref(false)
  const selectedRunId = ref<number | null>(null)
  /** Metric points of the selected run, in step order. */
  const metrics = ref<MetricPoint[]>([])

  const selectedRun = computed(() => runs.value.find((run) => run.id === selectedRunId.value) ?? null)

  async function load(): Promise<void> {
    try {
      runs.value = await api.call('runs.list', {})
      loaded.value = true
    } catch (error) {
      toasts.showError(error)
    }
  }

  /** Bumped on every selection, so that a reply for an earlier selection is dropped. */
  let selection = 0

  async function loadMetrics(runId: number, afterStep: number): Promise<void> {
    const asked = selection
    try {
      const points = await api.call('runs.metrics', { id: runId, afterStep })
      if (asked !== selection) return
      metrics.value = afterStep < 0 ? points : [...metrics.value, ...points]
    } catch (error) {
      toasts.showError(error)
    }
  }

  function select(runId: number): void {
    selection++
    selectedRunId.value = runId
    metrics.value = []
    followSelectedRun()
  }

  // A live run: fetch only the points after the last one we have. Progress events come faster
  // than replies, so fetches are serialised: two in flight would both append the same points.
  let following: Promise<void> | null = null
  let followAgain = false
  function followSelectedRun(): void {
    if (following) {
      followAgain = true
      return
    }
    following = (async () => {
      do {
        followAgain = false
        const runId = selectedRunId.value
        if (runId === null) return
        const lastStep = metrics.value.reduce((last, point) => Math.max(last, point.step), -1)
        await loadMetrics(runId, lastStep)
      } while (followAgain)
    })().finally(() => {
      following = null
    })
  }

  api.on('run.progress', ({ runId }) => {
    if (runId === selectedRunId.value) followSelectedRun()
  })
  api.on('run.status', () => void load())

  return { runs, loaded, selectedRunId, selectedRun, metrics, load, select }
})

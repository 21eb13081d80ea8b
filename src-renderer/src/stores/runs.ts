import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { RunControl, RunSummary } from '../../../src-preload/contract'
import { useApi } from '../api'
import { queuePositions } from '../components/runs/runStatus'
import { useToastStore } from './toasts'

export type ContinueBy = { addSteps: number } | { addEpochs: number }

/** Every run with its status, kept current by run.* events; the control actions of the Runs view. */
export const useRunsStore = defineStore('runs', () => {
  const api = useApi()
  const toasts = useToastStore()
  const runs = ref<RunSummary[]>([])
  const loaded = ref(false)
  /** Run ids with a control request on its way to the server, so that its buttons wait for the reply. */
  const busy = ref<Set<number>>(new Set())

  const byId = computed(() => new Map(runs.value.map((run) => [run.id, run])))
  const queue = computed(() => queuePositions(runs.value))

  async function load(): Promise<void> {
    try {
      runs.value = await api.call('runs.list', { limit: 1000 })
      loaded.value = true
    } catch (error) {
      toasts.showError(error)
    }
  }

  function replace(run: RunSummary): void {
    const index = runs.value.findIndex((known) => known.id === run.id)
    if (index >= 0) runs.value.splice(index, 1, run)
    else runs.value.unshift(run)
  }

  /** Runs the request with the run marked busy; the reply replaces the run. null when refused (toast). */
  async function request(runId: number, send: () => Promise<RunSummary>): Promise<RunSummary | null> {
    busy.value = new Set(busy.value).add(runId)
    try {
      const run = await send()
      replace(run)
      return run
    } catch (error) {
      toasts.showError(error)
      return null
    } finally {
      const next = new Set(busy.value)
      next.delete(runId)
      busy.value = next
    }
  }

  function control(runId: number, action: RunControl): Promise<RunSummary | null> {
    return request(runId, () => api.call(`runs.${action}`, { id: runId }))
  }

  function continueRun(runId: number, by: ContinueBy): Promise<RunSummary | null> {
    return request(runId, () => api.call('runs.continue', { id: runId, ...by }))
  }

  async function remove(runId: number): Promise<boolean> {
    busy.value = new Set(busy.value).add(runId)
    try {
      await api.call('runs.delete', { id: runId })
      runs.value = runs.value.filter((run) => run.id !== runId)
      return true
    } catch (error) {
      toasts.showError(error)
      return false
    } finally {
      const next = new Set(busy.value)
      next.delete(runId)
      busy.value = next
    }
  }

  api.on('run.status', ({ runId, status, error }) => {
    const run = byId.value.get(runId)
    // A run this window has not seen yet (started elsewhere): the list brings all of it.
    if (!run) return void load()
    replace({ ...run, status, error })
    // pendingControl, startedAt and finishedAt change with the status; the server has them.
    void load()
  })
  api.on('run.progress', ({ runId, ...progress }) => {
    const run = byId.value.get(runId)
    if (run) replace({ ...run, progress })
  })

  return { runs, loaded, busy, byId, queue, load, replace, control, continueRun, remove }
})

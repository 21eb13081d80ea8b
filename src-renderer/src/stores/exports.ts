import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { CallInput, ExportRecord } from '../../../src-preload/contract'
import { useApi } from '../api'
import { isJobFinished } from './jobs'
import { useToastStore } from './toasts'

/** Where the served UI downloads export `id` (server/download.ts); the page's cookie carries the token. */
export function exportDownloadUrl(id: number): string {
  return `/download/exports/${id}`
}

/** What an export came from, in words: "checkpoint at step 20 of run #3", "base model", … */
export function exportLineage(record: ExportRecord): string {
  const run = record.runId === null ? 'a deleted run' : `run #${record.runId}`
  if (record.sourceKind === 'checkpoint') return `checkpoint at step ${record.step ?? '?'} of ${run}`
  if (record.sourceKind === 'run') return `result of ${run}`
  if (record.sourceKind === 'dataset') return `dataset ${record.sourceLabel}`
  return `base model ${record.sourceLabel}`
}

/** The exports of one run (its result and its checkpoints), newest first, kept current by job events. */
export const useExportsStore = defineStore('exports', () => {
  const api = useApi()
  const toasts = useToastStore()
  const runId = ref<number | null>(null)
  const exports = ref<ExportRecord[]>([])
  /** The served UI downloads over HTTP; the desktop app has the files on its own disk already. */
  const canDownload = computed(() => api.transport === 'websocket')

  async function load(forRun: number): Promise<void> {
    runId.value = forRun
    try {
      const listed = await api.call('exports.list', { runId: forRun })
      if (runId.value === forRun) exports.value = listed
    } catch (error) {
      toasts.showError(error)
    }
  }

  /** Starts an export; false when it was refused (the toast says why). */
  async function start(input: CallInput<'exports.start'>): Promise<boolean> {
    try {
      const started = await api.call('exports.start', input)
      exports.value = [started.export, ...exports.value.filter((e) => e.id !== started.export.id)]
      return true
    } catch (error) {
      toasts.showError(error)
      return false
    }
  }

  /** The desktop app's Download: a copy where the user says (a folder export as a .tar); its path, or null. */
  async function saveCopy(id: number, path: string): Promise<string | null> {
    try {
      return (await api.call('exports.saveCopy', { id, path })).path
    } catch (error) {
      toasts.showError(error)
      return null
    }
  }

  async function remove(id: number): Promise<void> {
    try {
      await api.call('exports.delete', { id })
      exports.value = exports.value.filter((e) => e.id !== id)
    } catch (error) {
      toasts.showError(error)
    }
  }

  // An export's record is finished on the main side when its job ends: read the list again then.
  api.on('job.status', ({ jobId, status }) => {
    if (!isJobFinished(status) || runId.value === null) return
    if (exports.value.some((e) => e.jobId === jobId)) void load(runId.value)
  })

  return { runId, exports, canDownload, load, start, saveCopy, remove }
})

import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import type {
  DiscoveredModel,
  ModelDetail,
  ModelDiscovery,
  ModelListing
} from '../../../src-preload/contract'
import { ApiError, useApi } from '../api'
import { isJobFinished, useJobsStore } from './jobs'
import { useToastStore } from './toasts'

export const useModelsStore = defineStore('models', () => {
  const api = useApi()
  const toasts = useToastStore()
  const jobs = useJobsStore()
  const models = ref<ModelListing[]>([])
  const loaded = ref(false)
  /** Registration jobs started from this window that have not finished yet. */
  const registrations = ref<{ jobId: string; path: string }[]>([])
  /** The last models.discover answer; null before the first. */
  const discovery = ref<ModelDiscovery | null>(null)
  const discovering = ref(false)
  const watchedFolders = ref<string[]>([])
  /** The model page open, and the id it is for while it loads. */
  const detail = ref<ModelDetail | null>(null)
  const detailId = ref<number | null>(null)

  /**
   * What discovery found, each marked with the listed model at its path now: registering or
   * removing a model since the scan changes the mark without scanning again.
   */
  const discovered = computed<DiscoveredModel[]>(() => {
    const byPath = new Map(models.value.map((model) => [model.path, model.id]))
    return (discovery.value?.models ?? []).map((found) => ({
      ...found,
      registeredModelId: byPath.get(found.path) ?? null
    }))
  })

  /** Runs a call; a refusal becomes a toast and `undefined`. */
  async function attempt<T>(action: () => Promise<T>): Promise<T | undefined> {
    try {
      return await action()
    } catch (error) {
      toasts.showError(error)
      return undefined
    }
  }

  async function load(): Promise<void> {
    const listed = await attempt(() => api.call('models.list', {}))
    if (listed === undefined) return
    models.value = listed
    loaded.value = true
  }

  /**
   * Resolves once the job is queued (true) or refused (false, with a toast); the model appears in
   * `models` when the job completes.
   */
  async function register(path: string, name?: string): Promise<boolean> {
    const queued = await attempt(() => api.call('models.register', name ? { path, name } : { path }))
    if (queued === undefined) return false
    registrations.value.push({ jobId: queued.jobId, path })
    return true
  }

  function settleFinishedRegistrations(): void {
    for (const { jobId } of registrations.value) {
      const job = jobs.byId[jobId]
      if (!job || !isJobFinished(job.status)) continue
      registrations.value = registrations.value.filter((registration) => registration.jobId !== jobId)
      if (job.status === 'completed') void load()
      else if (job.status === 'failed') {
        toasts.showError(new ApiError('failed', job.error ?? `models.register: job ${jobId} failed`))
      }
    }
  }

  watch(() => registrations.value.map(({ jobId }) => jobs.byId[jobId]?.status), settleFinishedRegistrations)

  async function discover(): Promise<void> {
    discovering.value = true
    try {
      const found = await attempt(() => api.call('models.discover', {}))
      if (found) discovery.value = found
    } finally {
      discovering.value = false
    }
  }

  async function loadFolders(): Promise<void> {
    const folders = await attempt(() => api.call('models.folders', {}))
    if (folders) watchedFolders.value = folders
  }

  /** Watches the folder and scans again, so what it holds shows at once. */
  async function addFolder(path: string): Promise<boolean> {
    const folders = await attempt(() => api.call('models.addFolder', { path }))
    if (!folders) return false
    watchedFolders.value = folders
    await discover()
    return true
  }

  async function removeFolder(path: string): Promise<void> {
    const folders = await attempt(() => api.call('models.removeFolder', { path }))
    if (!folders) return
    watchedFolders.value = folders
    await discover()
  }

  /** Opens the model's page (null closes it). */
  async function openDetail(id: number | null): Promise<void> {
    detailId.value = id
    if (id === null) {
      detail.value = null
      return
    }
    const page = await attempt(() => api.call('models.detail', { id }))
    // Another page opened while this one loaded: keep that one.
    if (detailId.value === id) detail.value = page ?? null
  }

  /** Takes the model off the list (a refusal, e.g. a queued run uses it, is a toast). */
  async function remove(id: number): Promise<boolean> {
    if ((await attempt(() => api.call('models.remove', { id }))) === undefined) return false
    models.value = models.value.filter((model) => model.id !== id)
    if (detailId.value === id) await openDetail(id)
    return true
  }

  return {
    models,
    loaded,
    registrations,
    discovery,
    discovered,
    discovering,
    watchedFolders,
    detail,
    detailId,
    load,
    register,
    discover,
    loadFolders,
    addFolder,
    removeFolder,
    openDetail,
    remove
  }
})

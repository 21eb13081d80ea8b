import { defineStore } from 'pinia'
import { ref, watch } from 'vue'
import type { ModelListing } from '../../../src-preload/contract'
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

  async function load(): Promise<void> {
    try {
      models.value = await api.call('models.list', {})
      loaded.value = true
    } catch (error) {
      toasts.showError(error)
    }
  }

  /**
   * Resolves once the job is queued (true) or refused (false, with a toast); the model appears in
   * `models` when the job completes.
   */
  async function register(path: string, name?: string): Promise<boolean> {
    try {
      const { jobId } = await api.call('models.register', name ? { path, name } : { path })
      registrations.value.push({ jobId, path })
      return true
    } catch (error) {
      toasts.showError(error)
      return false
    }
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

  return { models, loaded, registrations, load, register }
})

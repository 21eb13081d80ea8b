import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { JobStatus } from '../../../src-preload/contract'
import { useApi } from '../api'
import { useToastStore } from './toasts'

export interface JobState {
  id: string
  kind: string
  status: JobStatus
  error: string | null
  progress: { done: number; total: number; message: string } | null
}

export function isJobFinished(status: JobStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled'
}

/** Jobs of this server session, kept current by `job.status` and `job.progress` events. */
export const useJobsStore = defineStore('jobs', () => {
  const api = useApi()
  const toasts = useToastStore()
  const byId = ref<Record<string, JobState>>({})

  async function load(): Promise<void> {
    try {
      const jobs = await api.call('jobs.list', {})
      const next: Record<string, JobState> = {}
      for (const job of jobs) {
        next[job.id] = {
          id: job.id,
          kind: job.kind,
          status: job.status,
          error: job.error,
          progress: job.progress
        }
      }
      byId.value = next
    } catch (error) {
      toasts.showError(error)
    }
  }

  // An event can arrive before the reply that named the job, so unknown jobs are created here.
  api.on('job.status', ({ jobId, kind, status, error }) => {
    const known = byId.value[jobId]
    byId.value[jobId] = { id: jobId, kind, status, error, progress: known?.progress ?? null }
  })
  api.on('job.progress', ({ jobId, kind, done, total, message }) => {
    const known = byId.value[jobId]
    byId.value[jobId] = {
      id: jobId,
      kind,
      status: known?.status ?? 'running',
      error: known?.error ?? null,
      progress: { done, total, message }
    }
  })

  return { byId, load }
})

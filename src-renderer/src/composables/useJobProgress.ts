import { computed, type Ref } from 'vue'
import { useApi } from '../api'
import { isJobFinished, useJobsStore, type JobState } from '../stores/jobs'
import { useToastStore } from '../stores/toasts'

export interface JobProgressView {
  job: JobState
  /** 0..1, or null while the job has not said how much there is to do. */
  fraction: number | null
  message: string
}

/** How far a job has come, as a progress bar shows it. */
export function jobProgressView(job: JobState): JobProgressView {
  const { done = 0, total = 0, message = job.status } = job.progress ?? {}
  return { job, fraction: total > 0 ? Math.min(1, done / total) : null, message }
}

/**
 * The running job of one kind (e.g. 'dataset.import') while `active` is true. Long dataset calls
 * answer only when their job ends, so the jobId comes from the job events, not from the reply.
 */
export function useJobProgress(kind: string, active: Ref<boolean>) {
  const api = useApi()
  const jobs = useJobsStore()
  const toasts = useToastStore()

  const progress = computed<JobProgressView | null>(() => {
    if (!active.value) return null
    const job = Object.values(jobs.byId).find((j) => j.kind === kind && !isJobFinished(j.status))
    return job ? jobProgressView(job) : null
  })

  async function cancel(): Promise<void> {
    const job = progress.value?.job
    if (!job) return
    try {
      await api.call('jobs.cancel', { id: job.id })
    } catch (error) {
      toasts.showError(error)
    }
  }

  return { progress, cancel }
}

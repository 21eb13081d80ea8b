import { ref } from 'vue'
import { useApi } from '../api'
import { useToastStore } from '../stores/toasts'

let requestCounter = 0
/** Unique enough among the clients of one server: a time, a random part, and this window's count. */
function newRequestId(): string {
  requestCounter += 1
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}-${requestCounter}`
}

/**
 * A call that runs as a job and answers only when the job ends (models.generate, rewards.test),
 * made with a requestId the server echoes in job.output events: the first, an empty piece sent as
 * soon as the job is queued, names the job — for Stop — and later pieces (generated text) go to
 * `onOutput`. Listening for any job of the kind starting would be a guess when two windows run one
 * at once; the echoed id is not.
 */
export function useRequestedJob(onOutput: (text: string) => void = () => {}) {
  const api = useApi()
  const toasts = useToastStore()
  /** The running job, once its first event named it. */
  const jobId = ref<string | null>(null)
  const stopping = ref(false)
  let currentRequest: string | null = null

  api.on('job.output', (piece) => {
    if (currentRequest === null || piece.requestId !== currentRequest) return
    jobId.value = piece.jobId
    onOutput(piece.text)
  })

  /** A new request's id, to send with the call; events of an earlier one are ignored from now. */
  function begin(): string {
    currentRequest = newRequestId()
    jobId.value = null
    stopping.value = false
    return currentRequest
  }

  /** The call has answered: no job runs for it any more. */
  function end(): void {
    jobId.value = null
    currentRequest = null
  }

  /** Cancels the running job; its call then answers with what the job had done. */
  async function stop(): Promise<void> {
    if (!jobId.value || stopping.value) return
    stopping.value = true
    try {
      await api.call('jobs.cancel', { id: jobId.value })
    } catch (error) {
      toasts.showError(error)
    }
  }

  return { jobId, stopping, begin, end, stop }
}

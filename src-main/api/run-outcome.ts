/**
 * What a training job's end means for its run: the trainer's result 'completed' or 'stopped'; a
 * cancel the user asked for → cancelled; a process killed from outside (SIGKILL, SIGTERM, …) or a
 * failure whose cause can pass (a full disk, a lost GPU: PASSING_FAILURES) → interrupted
 * (resumable from the last checkpoint, with the error saying what to do); any other failure →
 * failed, with the trainer's error.
 */
import type { JobSummary, RunStatus } from '../../src-preload/contract'
import type { TrainResult } from '../engine/train/trainer'
import type { WorkerExit } from '../jobs/runner'

/** Signals that mean someone ended the process, not that training went wrong. */
const EXTERNAL_KILLS: readonly string[] = ['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP']

/**
 * Failures whose cause can pass, recognised by the error's text (the errno code a failed write
 * names; the CUDA runtime's words for a device that is gone), with what the user should do.
 */
const PASSING_FAILURES: readonly { cause: RegExp; advice: string }[] = [
  {
    cause: /\b(ENOSPC|EDQUOT)\b/,
    advice: 'the disk is full: free space, then resume the run from its last checkpoint'
  },
  {
    cause:
      /CUDA failure (46|100|999)\b|no CUDA-capable device|busy or unavailable|fallen off the bus|cudaErrorDevicesUnavailable|cudaErrorNoDevice/,
    advice: 'the GPU was lost: once it is back, resume the run from its last checkpoint'
  }
]

/** What to do about a failure whose cause can pass; null for any other failure. */
export function adviceForPassingFailure(error: string): string | null {
  return PASSING_FAILURES.find(({ cause }) => cause.test(error))?.advice ?? null
}

/** How a training job ended, as the run manager saw it. */
export interface TrainingJobEnd {
  /** What the user asked for while it ran. */
  requested: 'stop' | 'cancel' | null
  job: Pick<JobSummary, 'status' | 'error'>
  /** What the trainer returned, if it got as far. */
  result: TrainResult | undefined
  exit: WorkerExit | null
}

/** The run's status after the job, and the error that explains it (null when there is none). */
export function runOutcome({ requested, job, result, exit }: TrainingJobEnd): {
  status: RunStatus
  error: string | null
} {
  if (requested === 'cancel') return { status: 'cancelled', error: null }
  if (result && (job.status === 'completed' || job.status === 'cancelled')) {
    return { status: result.status, error: null }
  }
  if (exit?.signal && EXTERNAL_KILLS.includes(exit.signal)) {
    return {
      status: 'interrupted',
      error: `the training process was killed (${exit.signal}); resume the run from its last checkpoint`
    }
  }
  const error = job.error ?? `the training job ended as ${job.status}`
  const advice = adviceForPassingFailure(error)
  return advice ? { status: 'interrupted', error: `${error} — ${advice}` } : { status: 'failed', error }
}

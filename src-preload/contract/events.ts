/** Events main pushes to every client. */
import type { EvaluationStatus } from './evaluations'
import type { JobStatus } from './jobs'
import type { RunLogLine, RunProgress, RunStatus } from './runs'

export interface Events {
  'job.progress': { jobId: string; kind: string; done: number; total: number; message: string }
  'job.status': { jobId: string; kind: string; status: JobStatus; error: string | null }
  'job.log': { jobId: string; level: 'info' | 'warn' | 'error'; message: string; at: string }
  /**
   * A piece of text a job streams (models.generate: each new piece as it is decoded, in order;
   * concatenated they are the answer's text). A generation first sends a piece with text '' as soon
   * as its job is queued, so that its client learns the jobId (to cancel) before any text comes.
   * `requestId` is the one the call was given, or null.
   */
  'job.output': { jobId: string; requestId: string | null; text: string }
  /**
   * Events about runs come from the process that owns the run. A process also relays, about twice a
   * second, the progress and status of runs another process (e.g. the CLI) trains in the same store.
   */
  'run.progress': RunProgress & { runId: number }
  'run.status': { runId: number; status: RunStatus; error: string | null }
  /** A line added to a run's log (see runs.log). */
  'run.log': RunLogLine
  /** An evaluation started, finished or failed (its scores are in evaluations.get). */
  'evaluation.status': { evaluationId: number; status: EvaluationStatus; error: string | null }
}
export type EventName = keyof Events
export const eventNames: EventName[] = [
  'job.progress',
  'job.status',
  'job.log',
  'job.output',
  'run.progress',
  'run.status',
  'run.log',
  'evaluation.status'
]

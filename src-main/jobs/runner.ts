import { randomUUID } from 'node:crypto'
import type { Worker } from 'node:worker_threads'
import type { JobStatus, JobSummary } from '../../src-preload/contract'
import type { EventBus } from '../api/events'
import type { JobStart, RunnerToWorker, WorkerToRunner } from './protocol'
import { startJobWorker } from './worker-entry'

export interface SubmitOptions {
  /** Runs on the main thread with the job's result before the job is marked completed (e.g. store writes). */
  onResult?: (value: unknown) => unknown
  /** Receives the job's streamed output pieces (JobContext.output), in order, on the main thread. */
  onOutput?: (text: string) => void
  /**
   * How cancel() ends the job: 'terminate' (default) asks the job to stop and kills its thread after
   * a short grace period; 'cooperative' only asks, for jobs that must finish what they are doing
   * (a training step, then a checkpoint) and would lose work if killed.
   */
  cancelPolicy?: 'terminate' | 'cooperative'
}

interface JobRecord {
  summary: JobSummary
  start: JobStart
  options: SubmitOptions
  worker: Worker | null
  finished: Promise<JobSummary>
  settle: (summary: JobSummary) => void
}

/** How long a cancelled job gets to stop at its next checkpoint before its thread is terminated. */
const CANCEL_GRACE_MS = 2_000

/**
 * A small queue of jobs, each run in its own worker thread so the main thread (IPC, server, UI
 * events) stays responsive. Progress, logs and status changes are published on the event bus.
 */
export class JobRunner {
  private readonly jobs = new Map<string, JobRecord>()
  private readonly queue: string[] = []
  private running = 0

  constructor(
    private readonly events: EventBus,
    private readonly concurrency = 1
  ) {}

  submit(kind: string, input: unknown, options: SubmitOptions = {}): JobSummary {
    const summary: JobSummary = {
      id: randomUUID(),
      kind,
      status: 'queued',
      progress: null,
      error: null,
      createdAt: new Date().toISOString()
    }
    let settle!: (s: JobSummary) => void
    const finished = new Promise<JobSummary>((resolve) => (settle = resolve))
    this.jobs.set(summary.id, { summary, start: { kind, input }, options, worker: null, finished, settle })
    this.queue.push(summary.id)
    this.events.emit('job.status', { jobId: summary.id, kind, status: 'queued', error: null })
    this.pump()
    return { ...summary }
  }

  list(): JobSummary[] {
    return [...this.jobs.values()].map((j) => ({ ...j.summary })).reverse()
  }

  get(id: string): JobSummary | null {
    const job = this.jobs.get(id)
    return job ? { ...job.summary } : null
  }

  /** Resolves with the job's final summary once it has completed, failed or been cancelled. */
  wait(id: string): Promise<JobSummary> {
    const job = this.jobs.get(id)
    if (!job) return Promise.reject(new Error(`jobs.wait: no job with id ${id}`))
    return job.finished
  }

  cancel(id: string): JobSummary | null {
    const job = this.jobs.get(id)
    if (!job) return null
    if (job.summary.status === 'queued') {
      this.queue.splice(this.queue.indexOf(id), 1)
      this.finish(job, 'cancelled', null)
    } else if (job.summary.status === 'running' && job.worker) {
      const worker = job.worker
      worker.postMessage({ type: 'cancel' } satisfies RunnerToWorker)
      if (job.options.cancelPolicy !== 'cooperative') {
        const timer = setTimeout(() => void worker.terminate(), CANCEL_GRACE_MS)
        timer.unref()
      }
      job.summary.status = 'cancelled'
    }
    return { ...job.summary }
  }

  async close(): Promise<void> {
    this.queue.length = 0
    await Promise.all([...this.jobs.values()].map((j) => j.worker?.terminate()))
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const job = this.jobs.get(this.queue.shift()!)!
      this.startWorker(job)
    }
  }

  private startWorker(job: JobRecord): void {
    const worker = startJobWorker({ workerData: job.start })
    job.worker = worker
    this.running++
    this.setStatus(job, 'running', null)

    let outcome: { ok: true; value: unknown } | { ok: false; message: string } | null = null
    worker.on('message', (message: WorkerToRunner) => {
      if (message.type === 'progress') {
        job.summary.progress = { done: message.done, total: message.total, message: message.message }
        this.events.emit('job.progress', {
          jobId: job.summary.id,
          kind: job.summary.kind,
          ...job.summary.progress
        })
      } else if (message.type === 'log') {
        const at = new Date().toISOString()
        this.events.emit('job.log', {
          jobId: job.summary.id,
          level: message.level,
          message: message.message,
          at
        })
      } else if (message.type === 'output') {
        job.options.onOutput?.(message.text)
      } else if (message.type === 'result') {
        outcome = { ok: true, value: message.value }
      } else {
        outcome = { ok: false, message: message.message }
      }
    })
    worker.on('error', (err) => (outcome = { ok: false, message: err.message }))
    worker.on('exit', (code) => {
      this.running--
      void this.conclude(job, outcome, code).finally(() => this.pump())
    })
  }

  private async conclude(
    job: JobRecord,
    outcome: { ok: true; value: unknown } | { ok: false; message: string } | null,
    exitCode: number
  ): Promise<void> {
    job.worker = null
    const cancelled = job.summary.status === 'cancelled'
    if (!outcome) {
      return this.finish(
        job,
        cancelled ? 'cancelled' : 'failed',
        cancelled ? null : `job worker exited with code ${exitCode} before finishing`
      )
    }
    if (!outcome.ok)
      return this.finish(job, cancelled ? 'cancelled' : 'failed', cancelled ? null : outcome.message)
    // A cooperatively cancelled job may still return what it did before stopping (e.g. its last checkpoint).
    try {
      job.summary.result = (await job.options.onResult?.(outcome.value)) ?? outcome.value
      this.finish(job, cancelled ? 'cancelled' : 'completed', null)
    } catch (err) {
      this.finish(job, 'failed', err instanceof Error ? err.message : String(err))
    }
  }

  private finish(job: JobRecord, status: JobStatus, error: string | null): void {
    this.setStatus(job, status, error)
    job.settle({ ...job.summary })
  }

  private setStatus(job: JobRecord, status: JobStatus, error: string | null): void {
    job.summary.status = status
    job.summary.error = error
    this.events.emit('job.status', { jobId: job.summary.id, kind: job.summary.kind, status, error })
  }
}

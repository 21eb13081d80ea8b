import type { ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import type { Worker } from 'node:worker_threads'
import type { JobStatus, JobSummary } from '../../src-preload/contract'
import type { EventBus } from '../api/events'
import type { JobStart, RunnerToWorker, WorkerToRunner } from './protocol'
import { startJobProcess, startJobWorker } from './worker-entry'

type LogLevel = 'info' | 'warn' | 'error'

export interface SubmitOptions {
  /** Runs on the main thread with the job's result before the job is marked completed (e.g. store writes). */
  onResult?: (value: unknown) => unknown
  /** Receives the job's streamed output pieces (JobContext.output), in order, on the main thread. */
  onOutput?: (text: string) => void
  /** Receives the job's log lines (also published as job.log), and a job process's stdout/stderr lines. */
  onLog?: (level: LogLevel, message: string) => void
  /** The job stopped at a pause point (true) or went on (false). */
  onPauseChange?: (paused: boolean) => void
  /**
   * How cancel() ends the job: 'terminate' (default) asks the job to stop and kills its worker after
   * a short grace period; 'cooperative' only asks, for jobs that must finish what they are doing
   * (a training step, then a checkpoint) and would lose work if killed.
   */
  cancelPolicy?: 'terminate' | 'cooperative'
  /**
   * 'thread' (default): a worker thread of this process. 'process': a child process of its own,
   * which terminate() kills with SIGKILL and whose crash cannot take this process down.
   */
  isolation?: 'thread' | 'process'
  /**
   * Jobs of one lane run at most `concurrency` at a time, in submission order; lanes run side by side
   * (so a training run does not hold up a model registration). Default 'default'.
   */
  lane?: string
}

/** How a worker ended: its exit code, or the signal that killed a job process. */
export interface WorkerExit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** A started worker, thread or process, handled the same way. */
interface WorkerHandle {
  readonly pid: number | null
  post(message: RunnerToWorker): void
  /** Now: a thread is terminated, a process gets SIGKILL. */
  kill(): void
}

interface WorkerListeners {
  message(message: WorkerToRunner): void
  error(error: Error): void
  exit(exit: WorkerExit): void
  line(stream: 'stdout' | 'stderr', text: string): void
}

interface JobRecord {
  summary: JobSummary
  start: JobStart
  options: SubmitOptions
  lane: string
  worker: WorkerHandle | null
  exit: WorkerExit | null
  /** The last lines a job process wrote to stderr, for the error when it dies without a word. */
  stderrTail: string[]
  finished: Promise<JobSummary>
  settle: (summary: JobSummary) => void
}

/** How long a cancelled job gets to stop at its next checkpoint before its worker is terminated. */
const CANCEL_GRACE_MS = 2_000
const STDERR_TAIL_LINES = 20

function threadHandle(worker: Worker, on: WorkerListeners): WorkerHandle {
  worker.on('message', on.message)
  worker.on('error', on.error)
  worker.on('exit', (code) => on.exit({ code, signal: null }))
  return {
    pid: null,
    post: (message) => worker.postMessage(message),
    kill: () => void worker.terminate()
  }
}

function forwardLines(stream: NodeJS.ReadableStream | null, emit: (text: string) => void): void {
  if (!stream) return
  let buffer = ''
  stream.setEncoding('utf8')
  stream.on('data', (chunk: string) => {
    buffer += chunk
    const lines = buffer.split('\n')
    buffer = lines.pop()!
    for (const line of lines) if (line.trim() !== '') emit(line)
  })
  stream.on('end', () => buffer.trim() !== '' && emit(buffer))
}

function processHandle(child: ChildProcess, on: WorkerListeners): WorkerHandle {
  child.on('message', (message) => on.message(message as WorkerToRunner))
  child.on('error', (error) => {
    on.error(error)
    // A process that could not be started never emits 'close'.
    if (child.pid === undefined) on.exit({ code: null, signal: null })
  })
  // 'close' comes after the stdio streams ended, so every line is in before the job concludes.
  child.on('close', (code, signal) => on.exit({ code, signal }))
  forwardLines(child.stdout, (text) => on.line('stdout', text))
  forwardLines(child.stderr, (text) => on.line('stderr', text))
  return {
    pid: child.pid ?? null,
    post: (message) => {
      if (child.connected) child.send(message)
    },
    kill: () => void child.kill('SIGKILL')
  }
}

/**
 * A small queue of jobs, each run in its own worker thread or process so the main thread (IPC,
 * server, UI events) stays responsive. Progress, logs and status changes are published on the event
 * bus.
 */
export class JobRunner {
  private readonly jobs = new Map<string, JobRecord>()
  private readonly queue: string[] = []
  private readonly runningPerLane = new Map<string, number>()

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
    this.jobs.set(summary.id, {
      summary,
      start: { kind, input },
      options,
      lane: options.lane ?? 'default',
      worker: null,
      exit: null,
      stderrTail: [],
      finished,
      settle
    })
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

  /** The process id of a running job's process (isolation 'process'); null otherwise. */
  pid(id: string): number | null {
    return this.jobs.get(id)?.worker?.pid ?? null
  }

  /** How a finished job's worker ended; null while it runs or if it never started. */
  exitOf(id: string): WorkerExit | null {
    return this.jobs.get(id)?.exit ?? null
  }

  cancel(id: string): JobSummary | null {
    const job = this.jobs.get(id)
    if (!job) return null
    if (job.summary.status === 'queued') {
      this.queue.splice(this.queue.indexOf(id), 1)
      this.finish(job, 'cancelled', null)
    } else if (job.summary.status === 'running' && job.worker) {
      const worker = job.worker
      worker.post({ type: 'cancel' })
      if (job.options.cancelPolicy !== 'cooperative') {
        const timer = setTimeout(() => worker.kill(), CANCEL_GRACE_MS)
        timer.unref()
      }
      job.summary.status = 'cancelled'
    }
    return { ...job.summary }
  }

  /** Ends a job now, whatever its cancel policy: nothing it has not saved yet survives. */
  terminate(id: string): JobSummary | null {
    const job = this.jobs.get(id)
    if (!job) return null
    if (job.summary.status === 'queued') return this.cancel(id)
    if (job.summary.status === 'running' || (job.summary.status === 'cancelled' && job.worker)) {
      job.summary.status = 'cancelled'
      job.worker?.kill()
    }
    return { ...job.summary }
  }

  /** Asks a running job to hold at its next pause point; false when it is not running. */
  pause(id: string): boolean {
    return this.post(id, { type: 'pause' })
  }

  resume(id: string): boolean {
    return this.post(id, { type: 'resume' })
  }

  /** Ends every job now and waits until their workers are gone. */
  async close(): Promise<void> {
    for (const id of this.queue.splice(0)) this.finish(this.jobs.get(id)!, 'cancelled', null)
    const running = [...this.jobs.values()].filter((job) => job.worker)
    for (const job of running) {
      job.summary.status = 'cancelled'
      job.worker!.kill()
    }
    await Promise.all(running.map((job) => job.finished))
  }

  private post(id: string, message: RunnerToWorker): boolean {
    const job = this.jobs.get(id)
    if (!job?.worker || job.summary.status !== 'running') return false
    job.worker.post(message)
    return true
  }

  private pump(): void {
    for (let i = 0; i < this.queue.length;) {
      const job = this.jobs.get(this.queue[i])!
      if ((this.runningPerLane.get(job.lane) ?? 0) < this.concurrency) {
        this.queue.splice(i, 1)
        this.startWorker(job)
      } else i++
    }
  }

  private startWorker(job: JobRecord): void {
    this.runningPerLane.set(job.lane, (this.runningPerLane.get(job.lane) ?? 0) + 1)
    this.setStatus(job, 'running', null)
    let outcome: { ok: true; value: unknown } | { ok: false; message: string } | null = null
    const listeners: WorkerListeners = {
      message: (message) => {
        if (message.type === 'result') outcome = { ok: true, value: message.value }
        else if (message.type === 'error') outcome = { ok: false, message: message.message }
        else this.relay(job, message)
      },
      error: (err) => (outcome ??= { ok: false, message: err.message }),
      exit: (exit) => {
        job.exit = exit
        this.runningPerLane.set(job.lane, this.runningPerLane.get(job.lane)! - 1)
        void this.conclude(job, outcome).finally(() => this.pump())
      },
      line: (stream, text) => {
        if (stream === 'stderr') {
          job.stderrTail.push(text)
          if (job.stderrTail.length > STDERR_TAIL_LINES) job.stderrTail.shift()
        }
        this.log(job, stream === 'stderr' ? 'warn' : 'info', text)
      }
    }
    job.worker =
      job.options.isolation === 'process'
        ? processHandle(startJobProcess(job.start), listeners)
        : threadHandle(startJobWorker({ workerData: job.start }), listeners)
  }

  private relay(job: JobRecord, message: Exclude<WorkerToRunner, { type: 'result' | 'error' }>): void {
    this.guarded(job, message.type, () => this.deliver(job, message))
  }

  /**
   * Runs a submitter's listener. These run on the event loop that serves every request, so one
   * that throws (a store write on a full disk, say) is reported as the job's error log line and
   * otherwise ignored: it must not end the process, and the job goes on.
   */
  private guarded(job: JobRecord, what: string, listener: () => void): void {
    try {
      listener()
    } catch (error) {
      const message = `${job.summary.kind} ${job.summary.id}: the ${what} listener failed: ${(error as Error).message}`
      console.error(message)
      this.events.emit('job.log', {
        jobId: job.summary.id,
        level: 'error',
        message,
        at: new Date().toISOString()
      })
    }
  }

  private deliver(job: JobRecord, message: Exclude<WorkerToRunner, { type: 'result' | 'error' }>): void {
    if (message.type === 'progress') {
      job.summary.progress = { done: message.done, total: message.total, message: message.message }
      this.events.emit('job.progress', {
        jobId: job.summary.id,
        kind: job.summary.kind,
        ...job.summary.progress
      })
    } else if (message.type === 'log') {
      this.log(job, message.level, message.message)
    } else if (message.type === 'output') {
      job.options.onOutput?.(message.text)
    } else {
      job.options.onPauseChange?.(message.paused)
    }
  }

  private log(job: JobRecord, level: LogLevel, message: string): void {
    this.guarded(job, 'log', () => job.options.onLog?.(level, message))
    this.events.emit('job.log', { jobId: job.summary.id, level, message, at: new Date().toISOString() })
  }

  private async conclude(
    job: JobRecord,
    outcome: { ok: true; value: unknown } | { ok: false; message: string } | null
  ): Promise<void> {
    job.worker = null
    const cancelled = job.summary.status === 'cancelled'
    if (!outcome) {
      return this.finish(job, cancelled ? 'cancelled' : 'failed', cancelled ? null : this.deathMessage(job))
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

  /** Why a worker ended without a result or an error message. */
  private deathMessage(job: JobRecord): string {
    const { code, signal } = job.exit ?? { code: null, signal: null }
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`
    const said = job.stderrTail.at(-1)
    return `job ${job.summary.kind}: its worker ${how} before finishing${said ? ` (last output: ${said})` : ''}`
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

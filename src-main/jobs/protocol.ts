/**
 * Messages between the job runner and a job worker. The worker is a thread (worker_threads) or, for
 * work that must be killable without taking the app down, a child process (child_process.fork,
 * over its IPC channel); the messages are the same either way.
 */

export interface JobStart {
  kind: string
  input: unknown
}

export type WorkerToRunner =
  | { type: 'progress'; done: number; total: number; message: string }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  /** A piece of the job's primary output as it is produced (e.g. generated text), in order. */
  | { type: 'output'; text: string }
  /** The job has stopped at a pause point (true) or goes on after one (false). */
  | { type: 'paused'; paused: boolean }
  | { type: 'result'; value: unknown }
  | { type: 'error'; message: string }

/**
 * cancel: abort the job's signal (a cooperative stop); pause: hold the job at its next pause point;
 * resume: let it go on.
 */
export type RunnerToWorker = { type: 'cancel' } | { type: 'pause' } | { type: 'resume' }

/** The first message a job process receives (a thread gets the JobStart as its workerData). */
export interface ProcessStart {
  type: 'start'
  start: JobStart
}

/** What a job's code sees while it runs inside its worker. */
export interface JobContext {
  progress(done: number, total: number, message?: string): void
  log(level: 'info' | 'warn' | 'error', message: string): void
  /** Streams a piece of output to whoever submitted the job (SubmitOptions.onOutput). */
  output(text: string): void
  /** Aborted when the user cancels; a job checks it between units of work (cooperative cancel). */
  signal: AbortSignal
  /**
   * A place where the job may be paused (e.g. between training steps): resolves at once unless a
   * pause was asked for, else when the job is resumed or cancelled.
   */
  pausePoint(): Promise<void>
}

export interface JobKind<I = unknown, O = unknown> {
  kind: string
  summary: string
  run(input: I, ctx: JobContext): Promise<O>
}

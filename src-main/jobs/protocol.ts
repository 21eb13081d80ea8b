/** Messages between the job runner (main thread) and a job worker thread. */

export interface JobStart {
  kind: string
  input: unknown
}

export type WorkerToRunner =
  | { type: 'progress'; done: number; total: number; message: string }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  /** A piece of the job's primary output as it is produced (e.g. generated text), in order. */
  | { type: 'output'; text: string }
  | { type: 'result'; value: unknown }
  | { type: 'error'; message: string }

export type RunnerToWorker = { type: 'cancel' }

/** What a job's code sees while it runs inside its worker. */
export interface JobContext {
  progress(done: number, total: number, message?: string): void
  log(level: 'info' | 'warn' | 'error', message: string): void
  /** Streams a piece of output to whoever submitted the job (SubmitOptions.onOutput). */
  output(text: string): void
  /** Aborted when the user cancels; a job checks it between units of work (cooperative cancel). */
  signal: AbortSignal
}

export interface JobKind<I = unknown, O = unknown> {
  kind: string
  summary: string
  run(input: I, ctx: JobContext): Promise<O>
}

/** Shared by the commands that run an engine job (score, generate, train) straight on a job runner. */
import { EventBus } from '../../api/events'
import type { Device } from '../../engine/runtime/devices'
import { JobRunner } from '../../jobs/runner'
import { UsageError, type OptionSpec, type ParsedArgs } from '../command'
import { storeDirFor } from '../session'
import { graphCacheDir } from '../../store/location'

export const ENGINE_OPTIONS: Record<string, OptionSpec> = {
  model: {
    type: 'string',
    valueName: 'DIR',
    description: 'HF model folder (config.json, safetensors, tokenizer.json)'
  },
  adapter: {
    type: 'string',
    valueName: 'DIR',
    description: 'PEFT LoRA adapter folder, merged into the weights'
  },
  device: { type: 'string', valueName: 'cpu|cuda', description: 'where to run', default: 'cpu' },
  threads: { type: 'string', valueName: 'N', description: 'threads per operation (default: all cores)' }
}

/** The engine inputs every engine job takes, from the parsed flags. */
export function engineJobInput(args: ParsedArgs) {
  const model = args.values.model
  if (typeof model !== 'string' || model === '') throw new UsageError('--model DIR is required')
  const device = args.values.device
  if (device !== 'cpu' && device !== 'cuda')
    throw new UsageError(`--device must be cpu or cuda, got ${String(device)}`)
  return {
    modelDir: model,
    adapterDir: (args.values.adapter as string | undefined) ?? null,
    device: device as Device,
    // Converted weights and compiled graphs are store artifacts, reused by later runs.
    cacheDir: graphCacheDir(storeDirFor(args)),
    threads: optionalNumber(args, 'threads', { integer: true, min: 1 })
  }
}

/** A numeric flag, or undefined when absent; out-of-range values are usage errors. */
export function optionalNumber(
  args: ParsedArgs,
  name: string,
  rule: { integer?: boolean; min?: number; max?: number }
): number | undefined {
  const raw = args.values[name]
  if (raw === undefined) return undefined
  const value = Number(raw)
  const fits =
    raw !== '' &&
    Number.isFinite(value) &&
    (!rule.integer || Number.isInteger(value)) &&
    (rule.min === undefined || value >= rule.min) &&
    (rule.max === undefined || value <= rule.max)
  if (!fits) {
    const range = [
      rule.min !== undefined ? `≥ ${rule.min}` : '',
      rule.max !== undefined ? `≤ ${rule.max}` : ''
    ]
      .filter(Boolean)
      .join(' and ')
    throw new UsageError(
      `--${name} must be ${rule.integer ? 'a whole number' : 'a number'}${range ? ` ${range}` : ''}, got ${String(raw)}`
    )
  }
  return value
}

export interface EngineJobOptions {
  /** The job's streamed output pieces, in order. */
  onOutput?: (text: string) => void
  /** Each progress message. Without it (and onOutput), progress is a status line on a terminal. */
  onProgress?: (message: string) => void
  onLog?: (level: 'info' | 'warn' | 'error', message: string) => void
  /**
   * A cooperative stop, for jobs that must not be killed (training): aborting it asks the job to
   * stop at its next boundary and waits, however long, and what the job returns when stopped is
   * the result. Without it, Ctrl-C cancels the job, whose worker ends after a short grace period.
   */
  stop?: AbortSignal
}

/** Runs one job in a worker, through the same job runner as the app, and returns its result. */
export async function runEngineJob<T>(
  kind: string,
  input: unknown,
  options: EngineJobOptions = {}
): Promise<T> {
  const { onOutput, onProgress, onLog, stop } = options
  const events = new EventBus()
  const runner = new JobRunner(events)
  const job = runner.submit(kind, input, {
    onOutput,
    onLog,
    cancelPolicy: stop ? 'cooperative' : 'terminate'
  })
  const statusLine = process.stderr.isTTY && !onOutput && !onProgress
  const stopListening = events.subscribe((event, payload) => {
    if (event !== 'job.progress' || !('done' in payload) || payload.jobId !== job.id) return
    if (onProgress) onProgress(payload.message)
    else if (statusLine) process.stderr.write(`\r${payload.message} ${payload.done}/${payload.total}`)
  })
  const cancel = (): void => void runner.cancel(job.id)
  if (!stop) process.once('SIGINT', cancel)
  else if (stop.aborted) cancel()
  else stop.addEventListener('abort', cancel, { once: true })
  try {
    const done = await runner.wait(job.id)
    if (statusLine) process.stderr.write('\n')
    const stoppedWithResult = stop !== undefined && done.status === 'cancelled' && done.result !== undefined
    if (done.status !== 'completed' && !stoppedWithResult) {
      throw new Error(done.error ?? `the job was ${done.status}`)
    }
    return done.result as T
  } finally {
    process.off('SIGINT', cancel)
    stop?.removeEventListener('abort', cancel)
    stopListening()
    await runner.close()
  }
}

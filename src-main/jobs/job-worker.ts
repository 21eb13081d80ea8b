/**
 * Entry point of a job worker: a worker thread, or a child process forked by the job runner (see
 * worker-entry.ts). Engine calls block the thread they run on, so every long piece of work runs
 * here and only messages cross back to the runner.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { JobStart, ProcessStart, RunnerToWorker, WorkerToRunner } from './protocol'
import { findJobKind } from './kinds'

/** Where messages to and from the runner go: a thread's port or a process's IPC channel. */
interface RunnerChannel {
  send(message: WorkerToRunner): Promise<void>
  onMessage(listener: (message: RunnerToWorker) => void): void
  close(): void
}

function threadChannel(port: NonNullable<typeof parentPort>): RunnerChannel {
  return {
    send: async (message) => port.postMessage(message),
    onMessage: (listener) => port.on('message', listener),
    close: () => port.close()
  }
}

function processChannel(): RunnerChannel {
  return {
    send: (message) =>
      new Promise<void>((resolve) => {
        if (!process.connected) return resolve()
        process.send!(message, undefined, {}, () => resolve())
      }),
    onMessage: (listener) => process.on('message', (message) => listener(message as RunnerToWorker)),
    // The runner waits for the process to exit; nothing of the job may keep it alive.
    close: () => process.exit(0)
  }
}

/** Pause points hold the job while paused; a cancel releases them (the job then sees its signal). */
class PauseGate {
  private paused = false
  private release: (() => void) | null = null

  constructor(private readonly channel: RunnerChannel) {}

  pause(): void {
    this.paused = true
  }

  resume(): void {
    this.paused = false
    this.release?.()
  }

  async point(signal: AbortSignal): Promise<void> {
    if (!this.paused || signal.aborted) return
    await this.channel.send({ type: 'paused', paused: true })
    await new Promise<void>((resolve) => (this.release = resolve))
    this.release = null
    await this.channel.send({ type: 'paused', paused: false })
  }
}

async function runJob({ kind, input }: JobStart, channel: RunnerChannel): Promise<void> {
  const cancel = new AbortController()
  const gate = new PauseGate(channel)
  channel.onMessage((message) => {
    if (message.type === 'cancel') {
      cancel.abort()
      gate.resume()
    } else if (message.type === 'pause') gate.pause()
    else gate.resume()
  })
  const send = (message: WorkerToRunner) => void channel.send(message)
  try {
    const job = findJobKind(kind)
    const value = await job.run(input, {
      progress: (done, total, message = '') => send({ type: 'progress', done, total, message }),
      log: (level, message) => send({ type: 'log', level, message }),
      output: (text) => send({ type: 'output', text }),
      signal: cancel.signal,
      pausePoint: () => gate.point(cancel.signal)
    })
    await channel.send({ type: 'result', value })
  } catch (err) {
    await channel.send({ type: 'error', message: err instanceof Error ? err.message : String(err) })
  }
  channel.close()
}

if (parentPort) {
  void runJob(workerData as JobStart, threadChannel(parentPort))
} else if (process.send) {
  process.once('message', (message: ProcessStart) => void runJob(message.start, processChannel()))
  // The runner's process is gone (killed, crashed): nobody will hear this job's result, and an
  // orphaned trainer must not keep the device busy. Its last checkpoint stays as it was.
  process.on('disconnect', () => process.exit(1))
} else {
  throw new Error('job-worker must run in a worker thread or in a process forked with an IPC channel')
}

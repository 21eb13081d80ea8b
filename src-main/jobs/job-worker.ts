/**
 * Entry point of a job worker thread. Engine calls block the thread they run on, so every long
 * piece of work runs here and only messages cross back to the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { JobStart, RunnerToWorker, WorkerToRunner } from './protocol'
import { findJobKind } from './kinds'

const port = parentPort
if (!port) throw new Error('job-worker.ts must run in a worker thread')

function send(message: WorkerToRunner): void {
  port!.postMessage(message)
}

const cancel = new AbortController()
port.on('message', (message: RunnerToWorker) => {
  if (message.type === 'cancel') cancel.abort()
})

async function main(): Promise<void> {
  const { kind, input } = workerData as JobStart
  try {
    const job = findJobKind(kind)
    const value = await job.run(input, {
      progress: (done, total, message = '') => send({ type: 'progress', done, total, message }),
      log: (level, message) => send({ type: 'log', level, message }),
      output: (text) => send({ type: 'output', text }),
      signal: cancel.signal
    })
    send({ type: 'result', value })
  } catch (err) {
    send({ type: 'error', message: err instanceof Error ? err.message : String(err) })
  }
  port!.close()
}

void main()

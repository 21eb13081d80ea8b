import { fork, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker, type WorkerOptions } from 'node:worker_threads'
import type { JobStart, ProcessStart } from './protocol'

/** A file URL of one of tsx's ESM entry points, located through its package.json so it resolves from any working directory. */
function tsxExportUrl(subpath: '.' | './esm/api'): string {
  const require = createRequire(import.meta.url)
  const packageJson = require.resolve('tsx/package.json')
  const exportsMap = JSON.parse(readFileSync(packageJson, 'utf8')).exports as Record<
    string,
    string | { import: { default: string } }
  >
  const target = exportsMap[subpath]
  const file = typeof target === 'string' ? target : target.import.default
  return pathToFileURL(join(dirname(packageJson), file)).href
}

/**
 * The threads and child processes the app starts, by bundle entry name (see
 * electron.vite.config.ts), with the source file each is built from, relative to this file.
 */
const THREAD_SOURCES = {
  'job-worker': './job-worker.ts',
  'import-reader': '../datasets/import-reader-worker.ts',
  'sql-query': '../rewards/sql-query-process.ts'
} as const

export type ThreadEntry = keyof typeof THREAD_SOURCES

/** Where a thread's code is: `<entry>.js` beside the bundle, or its `.ts` source relative to this file. */
function threadFile(entry: ThreadEntry): { file: string; fromSources: boolean } {
  const here = fileURLToPath(import.meta.url)
  const fromSources = here.endsWith('.ts')
  return {
    file: fromSources ? join(dirname(here), THREAD_SOURCES[entry]) : join(dirname(here), `${entry}.js`),
    fromSources
  }
}

/**
 * Starts one of the app's threads. Built, its code is `<entry>.js` beside the bundle that runs this
 * (electron-vite keeps main's chunks in one folder). From TypeScript sources (tests, scripts run
 * with tsx) the thread loads the `.ts` file after registering tsx in its own thread, since loader
 * hooks of the parent thread do not reach workers.
 */
export function startThread(entry: ThreadEntry, options: WorkerOptions): Worker {
  const { file, fromSources } = threadFile(entry)
  if (!fromSources) return new Worker(file, options)
  const url = pathToFileURL(file).href
  const bootstrap = `import(${JSON.stringify(tsxExportUrl('./esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url)}) })`
  return new Worker(bootstrap, { ...options, eval: true })
}

/** Starts the job worker in a thread. */
export function startJobWorker(options: WorkerOptions): Worker {
  return startThread('job-worker', options)
}

/**
 * Starts the job worker in a child process of its own, which can be killed (SIGKILL) without
 * harming this one; the messages travel over the IPC channel. Its stdout and stderr are piped to
 * the caller.
 */
export function startJobProcess(start: JobStart): ChildProcess {
  const child = startChildProcess('job-worker', ['ignore', 'pipe', 'pipe', 'ipc'])
  child.send({ type: 'start', start } satisfies ProcessStart)
  return child
}

/**
 * Starts one of the app's entries as a child process (messages over IPC, advanced serialization).
 * From sources the child loads tsx with `--import`. Under Electron the child runs Electron's binary
 * as plain Node (ELECTRON_RUN_AS_NODE), so native modules built for the app load in it too.
 */
export function startChildProcess(
  entry: ThreadEntry,
  stdio: ['ignore', 'pipe' | 'ignore', 'pipe' | 'ignore', 'ipc']
): ChildProcess {
  const { file, fromSources } = threadFile(entry)
  return fork(file, [], {
    execArgv: fromSources ? ['--import', tsxExportUrl('.')] : [],
    stdio,
    serialization: 'advanced',
    env: process.versions.electron ? { ...process.env, ELECTRON_RUN_AS_NODE: '1' } : process.env
  })
}

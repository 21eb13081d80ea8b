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

/** Where the worker's code is: `job-worker.js` beside the bundle, or `job-worker.ts` beside this file. */
function workerEntry(): { file: string; fromSources: boolean } {
  const here = fileURLToPath(import.meta.url)
  const fromSources = here.endsWith('.ts')
  return { file: join(dirname(here), fromSources ? 'job-worker.ts' : 'job-worker.js'), fromSources }
}

/**
 * Starts the job worker in a thread. Built, its code is `job-worker.js` beside the bundle that runs
 * this (electron-vite keeps main's chunks in one folder). From TypeScript sources (tests, scripts run
 * with tsx) the worker loads `job-worker.ts` after registering tsx in its own thread, since loader
 * hooks of the parent thread do not reach workers.
 */
export function startJobWorker(options: WorkerOptions): Worker {
  const { file, fromSources } = workerEntry()
  if (!fromSources) return new Worker(file, options)
  const entry = pathToFileURL(file).href
  const bootstrap = `import(${JSON.stringify(tsxExportUrl('./esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}) })`
  return new Worker(bootstrap, { ...options, eval: true })
}

/**
 * Starts the job worker in a child process of its own, which can be killed (SIGKILL) without
 * harming this one; the messages travel over the IPC channel. From sources the child loads tsx with
 * `--import`. Under Electron the child runs Electron's binary as plain Node (ELECTRON_RUN_AS_NODE),
 * so native modules built for the app load in it too. Its stdout and stderr are piped to the caller.
 */
export function startJobProcess(start: JobStart): ChildProcess {
  const { file, fromSources } = workerEntry()
  const child = fork(file, [], {
    execArgv: fromSources ? ['--import', tsxExportUrl('.')] : [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'advanced',
    env: process.versions.electron ? { ...process.env, ELECTRON_RUN_AS_NODE: '1' } : process.env
  })
  child.send({ type: 'start', start } satisfies ProcessStart)
  return child
}

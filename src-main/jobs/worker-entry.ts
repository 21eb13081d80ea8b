import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker, type WorkerOptions } from 'node:worker_threads'

/** tsx's ESM registration API, located through its package.json so it resolves from any working directory. */
function tsxEsmApiUrl(): string {
  const require = createRequire(import.meta.url)
  const packageJson = require.resolve('tsx/package.json')
  const exportsMap = JSON.parse(readFileSync(packageJson, 'utf8')).exports as Record<
    string,
    { import: { default: string } }
  >
  return pathToFileURL(join(dirname(packageJson), exportsMap['./esm/api'].import.default)).href
}

/**
 * Starts the job worker. Built, its code is `job-worker.js` beside the bundle that runs this
 * (electron-vite keeps main's chunks in one folder). From TypeScript sources (tests, scripts run with
 * tsx) the worker loads `job-worker.ts` after registering tsx in its own thread, since loader hooks of
 * the parent thread do not reach workers.
 */
export function startJobWorker(options: WorkerOptions): Worker {
  const here = fileURLToPath(import.meta.url)
  if (!here.endsWith('.ts')) return new Worker(join(dirname(here), 'job-worker.js'), options)
  const entry = pathToFileURL(join(dirname(here), 'job-worker.ts')).href
  const bootstrap = `import(${JSON.stringify(tsxEsmApiUrl())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}) })`
  return new Worker(bootstrap, { ...options, eval: true })
}

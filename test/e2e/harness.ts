/** What every browser end-to-end test needs: a build of the app and Debian's headless Chromium. */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { CallInput, CallName, CallOutput, JobSummary } from '../../src-preload/contract'
import type { RunningServer } from '../../src-main/server'

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
export const screenshotDir = join(repoRoot, 'test-results')

/** Chromium as root, offline: without the background-networking flags it keeps dialling out. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
}

/**
 * A new page whose console errors and uncaught exceptions are collected in `errors`: a broken CSP,
 * a failed asset or an exception shows up there before it shows up anywhere else.
 */
export async function openPage(
  browser: Browser,
  viewport: { width: number; height: number },
  errors: string[]
): Promise<Page> {
  const page = await browser.newPage({ viewport })
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`)
  })
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`))
  return page
}

/** Builds the app (into `outDir`, default out/) and returns the built renderer's folder. */
export function buildApp(outDir?: string): string {
  const args = ['electron-vite', 'build', ...(outDir ? ['--outDir', outDir] : [])]
  const build = spawnSync('npx', args, { cwd: repoRoot, encoding: 'utf8' })
  if (build.status !== 0) {
    throw new Error(`npx ${args.join(' ')} exited with ${build.status}:\n${build.stdout}\n${build.stderr}`)
  }
  return join(outDir ?? join(repoRoot, 'out'), 'renderer')
}

/** An API call over HTTP with the server's bearer token, for setup the UI is not under test for. */
export async function callApi<K extends CallName>(
  server: RunningServer,
  name: K,
  input: CallInput<K>
): Promise<CallOutput<K>> {
  const response = await fetch(`${server.origin}/api/call/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(input)
  })
  const body = (await response.json()) as { ok: boolean; value?: CallOutput<K>; error?: { message: string } }
  if (!body.ok) throw new Error(`${name}: ${body.error?.message}`)
  return body.value!
}

/** Asks for the job until it has ended (the test's timeout bounds the wait). */
export async function finishedJob(server: RunningServer, jobId: string): Promise<JobSummary> {
  for (;;) {
    const job = (await callApi(server, 'jobs.list', {})).find((j) => j.id === jobId)
    if (job && ['completed', 'failed', 'cancelled'].includes(job.status)) return job
    await new Promise((resolveLater) => setTimeout(resolveLater, 200))
  }
}

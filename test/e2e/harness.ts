/** What every browser end-to-end test needs: a build of the app and Debian's headless Chromium. */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Locator, type Page } from 'playwright-core'
import { expect } from 'vitest'
import type {
  CallInput,
  CallName,
  CallOutput,
  JobSummary,
  ModelListing,
  RunDetail
} from '../../src-preload/contract'
import { startServer, type RunningServer } from '../../src-main/server'

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
export const screenshotDir = join(repoRoot, 'test-results')
/** The tiny Llama the app embeds: quick enough to register, train and evaluate in a browser test. */
export const embeddedModelDir = join(repoRoot, 'resources/models/stories260K')

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

/** A page of the served UI, once its socket to the server is connected. */
export async function openStudioPage(
  browser: Browser,
  server: RunningServer,
  viewport: { width: number; height: number },
  errors: string[]
): Promise<Page> {
  const page = await openPage(browser, viewport, errors)
  await page.goto(server.url)
  await page.locator('[data-testid="status-connection"][data-state="connected"]').waitFor()
  return page
}

/**
 * A screenshot of the whole view into test-results/, not only the window: the content area scrolls
 * inside the page, so a full-page screenshot would stop at the window's height.
 */
export async function screenshotWhole(page: Page, name: string): Promise<void> {
  const viewport = page.viewportSize()!
  const contentHeight = await page.locator('.app-content').evaluate((element) => element.scrollHeight)
  const statusBarHeight = (await page.locator('.app-status').boundingBox())?.height ?? 0
  const height = contentHeight + statusBarHeight
  await page.setViewportSize({ width: viewport.width, height: Math.max(viewport.height, Math.ceil(height)) })
  await page.screenshot({ path: join(screenshotDir, name) })
  await page.setViewportSize(viewport)
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

/** Registers the embedded model through the API; it is listed once its registration job has ended. */
export async function registerEmbeddedModel(server: RunningServer): Promise<ModelListing> {
  const { jobId } = await callApi(server, 'models.register', { path: embeddedModelDir, name: 'stories260K' })
  const registration = await finishedJob(server, jobId)
  if (registration.status !== 'completed') throw new Error(`models.register failed: ${registration.error}`)
  const [model] = await callApi(server, 'models.list', {})
  return model
}

/**
 * Ten quick LoRA steps with a checkpoint every five, started through the API; the run's detail
 * once it has completed (a failed run throws with its error).
 */
export async function trainedQuickRun(
  server: RunningServer,
  inputs: { baseModelId: number; datasetVersionId: number }
): Promise<RunDetail> {
  const run = await callApi(server, 'runs.start', {
    ...inputs,
    lr: 0.01,
    batchSize: 2,
    maxSteps: 10,
    saveEvery: 5,
    lora: { r: 4, targets: ['q_proj', 'v_proj'] }
  })
  for (;;) {
    const detail = await callApi(server, 'runs.get', { id: run.id })
    if (detail.status === 'failed') throw new Error(`run ${run.id} failed: ${detail.error}`)
    if (detail.status === 'completed') return detail
    await new Promise((resolveLater) => setTimeout(resolveLater, 200))
  }
}

/**
 * In the open new-run form: sets the length in steps, the batch size and the learning rate, checks
 * the settings (pre-flight must pass) and starts the run; resolves once the form has closed on it.
 */
export async function startRunFromForm(
  form: Locator,
  settings: { steps: number; batchSize: number; lr: number },
  timeout: number
): Promise<void> {
  await form.getByTestId('new-run-length-by').selectOption('steps')
  await form.getByTestId('new-run-steps').fill(String(settings.steps))
  await form.getByTestId('new-run-batch-size').fill(String(settings.batchSize))
  await form.getByTestId('new-run-lr').fill(String(settings.lr))
  await form.getByTestId('new-run-preflight').click()
  const report = form.getByTestId('preflight-report')
  await expect.poll(() => report.getAttribute('data-ok'), { timeout }).toBe('true')
  await form.getByTestId('new-run-start').click()
  await form.waitFor({ state: 'detached' })
}

/** The run view, once the run it shows has completed. */
export async function completedRunDetail(page: Page, timeout: number): Promise<Locator> {
  const detail = page.getByTestId('run-detail')
  await detail.locator('[data-testid="run-status"][data-status="completed"]').first().waitFor({ timeout })
  return detail
}

/** A recipe chart of the run view, once it has `points` points of a metric whose name contains `metric`. */
export async function recipeChartWith(
  detail: Locator,
  group: string,
  metric: string,
  points: number,
  timeout: number
): Promise<Locator> {
  const chart = detail.locator(`[data-testid="chart-recipe"][data-group="${group}"]`)
  await expect.poll(() => chart.getAttribute('data-metrics'), { timeout }).toContain(metric)
  await expect
    .poll(async () => Number(await chart.getAttribute('data-point-count')), { timeout })
    .toBe(points)
  return chart
}

export interface StudioOptions {
  /**
   * Build into a temporary folder of this file's own instead of out/, so that files running at the
   * same time do not rebuild out/ under each other's servers.
   */
  ownBuild?: boolean
  /** Receives the server's log lines; default: dropped. */
  log?: (line: string) => void
}

/**
 * What a browser test file drives: the app built and served on a fresh store, and Chromium. `start`
 * it in beforeAll and `close` it in afterAll, which undoes as much of `start` as had happened.
 */
export class StudioUnderTest {
  private buildDir: string | undefined
  private store: string | undefined
  private running: RunningServer | undefined
  private chromium: Browser | undefined

  /** `name` names its temporary folders. */
  constructor(
    private readonly name: string,
    private readonly options: StudioOptions = {}
  ) {}

  async start(): Promise<void> {
    if (this.options.ownBuild) {
      this.buildDir = mkdtempSync(join(tmpdir(), `finetune-studio-e2e-${this.name}-build-`))
    }
    const rendererDir = buildApp(this.buildDir)
    this.store = realpathSync(mkdtempSync(join(tmpdir(), `finetune-studio-e2e-${this.name}-`)))
    this.running = await startServer({
      storeDir: this.store,
      rendererDir,
      port: 0,
      log: this.options.log ?? (() => {})
    })
    mkdirSync(screenshotDir, { recursive: true })
    this.chromium = await launchChromium()
  }

  get server(): RunningServer {
    return started(this.running, 'server')
  }

  get storeDir(): string {
    return started(this.store, 'storeDir')
  }

  get browser(): Browser {
    return started(this.chromium, 'browser')
  }

  /** openStudioPage on this studio. */
  openStudioPage(viewport: { width: number; height: number }, errors: string[]): Promise<Page> {
    return openStudioPage(this.browser, this.server, viewport, errors)
  }

  /** An API call for setup the UI is not under test for (callApi on this studio's server). */
  readonly api = <K extends CallName>(name: K, input: CallInput<K>): Promise<CallOutput<K>> =>
    callApi(this.server, name, input)

  async close(): Promise<void> {
    await this.chromium?.close()
    await this.running?.close()
    for (const dir of [this.store, this.buildDir]) if (dir) rmSync(dir, { recursive: true, force: true })
  }
}

function started<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`StudioUnderTest.${what}: the studio has not started`)
  return value
}

/**
 * The whole product through its headless door: `electron-vite build`, the server started in-process
 * on a fresh store, and Debian's Chromium driving the built UI over the WebSocket API.
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPage, repoRoot, screenshotDir, StudioUnderTest } from './harness'
import WebSocket from 'ws'
// CI clones the repository with shared/ beside it.
const tinyModelDir = resolve(repoRoot, '../shared/models/stories260K')

/** The status code with which the server refuses a WebSocket upgrade; fails if it accepts. */
function refusedUpgradeStatus(url: string): Promise<number> {
  return new Promise((resolveStatus, reject) => {
    const socket = new WebSocket(url)
    socket.on('unexpected-response', (_request, response) => {
      resolveStatus(response.statusCode ?? 0)
      socket.terminate()
    })
    socket.on('open', () => {
      socket.close()
      reject(new Error(`the server accepted a WebSocket to ${url}`))
    })
    socket.on('error', (err) => reject(err))
  })
}

describe('finetune-studio serve, driven by Chromium', () => {
  const serverLog: string[] = []
  const studio = new StudioUnderTest('serve', { log: (line) => serverLog.push(line) })
  let page: Page
  const browserErrors: string[] = []

  beforeAll(async () => {
    await studio.start()
    page = await openPage(studio.browser, { width: 1280, height: 800 }, browserErrors)
  })

  afterAll(() => studio.close())

  it('refuses the page and the socket without the right token', async () => {
    expect((await fetch(`${studio.server.origin}/`)).status).toBe(401)
    expect((await fetch(`${studio.server.origin}/?token=not-the-token`)).status).toBe(401)
    const wsOrigin = studio.server.origin.replace(/^http/, 'ws')
    expect(await refusedUpgradeStatus(`${wsOrigin}/api/ws`)).toBe(401)
  })

  it('answers an API call over HTTP with the bearer token', async () => {
    const response = await fetch(`${studio.server.origin}/api/call/system.info`, {
      method: 'POST',
      headers: { authorization: `Bearer ${studio.server.token}`, 'content-type': 'application/json' },
      body: '{}'
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    const body = await response.json()
    expect(body).toMatchObject({
      ok: true,
      value: { product: 'Finetune Studio', storePath: studio.storeDir, transport: 'http' }
    })
  })

  it('shows the store, the engine device and a live connection in the status bar', async () => {
    await page.goto(studio.server.url)
    await page.locator('[data-testid="status-connection"][data-state="connected"]').waitFor()
    await expect.poll(() => page.getByTestId('status-store-path').textContent()).toBe(studio.storeDir)
    await expect.poll(() => page.getByTestId('status-device').textContent()).toBe('CPU')
    expect(await page.getByTestId('status-connection').textContent()).toContain('connected')
    // The access token is taken out of the address bar once the page has it.
    expect(new URL(page.url()).searchParams.has('token')).toBe(false)
  })

  const emptyViews = [
    { view: 'datasets', heading: 'Datasets', empty: 'datasets-empty', says: 'Import JSONL, CSV or Parquet' },
    // Recipes are declared by the engine, so even a fresh store lists them.
    { view: 'recipes', heading: 'Recipes', empty: 'recipe-sft', says: 'Supervised fine-tuning' },
    { view: 'runs', heading: 'Runs', empty: 'runs-empty', says: 'loss curve' },
    {
      view: 'compare',
      heading: 'Compare runs',
      empty: 'runs-compare-empty',
      says: 'Two runs or more are needed'
    },
    {
      view: 'evaluate',
      heading: 'Evaluate',
      empty: 'evaluations-empty',
      says: 'Choose models or checkpoints and tasks above'
    },
    { view: 'models', heading: 'Models', empty: 'models-empty', says: 'Register a Hugging Face model folder' }
  ]

  it.each(emptyViews)(
    'walks to $view through the sidebar and shows what a fresh store holds',
    async (view) => {
      await page.getByTestId(`nav-${view.view}`).click()
      await page.getByRole('heading', { level: 1, name: view.heading }).waitFor()
      expect(page.url()).toContain(`#/${view.view}`)
      const emptyState = page.getByTestId(view.empty)
      await emptyState.waitFor()
      expect(await emptyState.textContent()).toContain(view.says)
      await page.screenshot({ path: join(screenshotDir, `e2e-${view.view}.png`) })
    }
  )

  it('registers the tiny Llama through the Models view and lists it', async () => {
    expect(existsSync(join(tinyModelDir, 'config.json')), `missing test model at ${tinyModelDir}`).toBe(true)
    await page.getByTestId('nav-models').click()
    await page.getByTestId('model-path-input').fill(tinyModelDir)
    await page.getByTestId('model-register-button').click()
    const row = page.getByTestId('model-row').filter({ hasText: 'LlamaForCausalLM' })
    const toast = page.getByTestId('toast')
    // A failed registration shows a toast: fail with its message rather than waiting out the timeout.
    await row.or(toast).first().waitFor({ timeout: 120_000 })
    if (await toast.count()) throw new Error(`registration failed: ${await toast.first().textContent()}`)
    expect(await row.textContent()).toContain(tinyModelDir)
    expect(await page.getByTestId('model-row').count()).toBe(1)
    expect(await page.getByTestId('models-empty').count()).toBe(0)
    expect(await page.getByTestId('model-path-input').inputValue()).toBe('')
    await page.screenshot({ path: join(screenshotDir, 'e2e-models-registered.png') })
  })

  it('shows the server error message in a toast when registering a folder that does not exist', async () => {
    const missingDir = join(studio.storeDir, 'no-such-model-folder')
    await page.getByTestId('model-path-input').fill(missingDir)
    await page.getByTestId('model-register-button').click()
    const toast = page.getByTestId('toast').filter({ hasText: missingDir })
    await toast.waitFor()
    expect(await toast.getByTestId('toast-message').textContent()).toMatch(/^models\.register: /)
    await page.screenshot({ path: join(screenshotDir, 'e2e-models-error.png') })
    // The refused path stays in the field to be corrected.
    expect(await page.getByTestId('model-path-input').inputValue()).toBe(missingDir)
    await toast.getByTestId('toast-dismiss').click()
    await toast.waitFor({ state: 'detached' })
    expect(await page.getByTestId('model-row').count()).toBe(1)
  })

  it('stays authorised after a reload without the token in the address', async () => {
    await page.reload()
    await page.locator('[data-testid="status-connection"][data-state="connected"]').waitFor()
    await page.getByTestId('model-row').filter({ hasText: 'LlamaForCausalLM' }).waitFor()
  })

  it('logged no browser errors along the way', () => {
    expect(browserErrors).toEqual([])
  })
})

/**
 * Models users already have, through the served UI: a fake Hugging Face cache (HF_HOME) holds a
 * snapshot of stories260K; the Models view finds it, registers it, opens its page and removes it
 * from the list — after which the same snapshot can be registered again.
 */
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addCachedModel, revisionOf } from '../helpers/fake-hf-cache'
import { tempDir } from '../helpers/temp'
import { screenshotWhole, StudioUnderTest } from './harness'

/** Long enough to build the app, or register a model on a busy machine. */
const SLOW_MS = 120_000

describe('the Models view: discover, register, look at, remove', () => {
  const studio = new StudioUnderTest('models', { ownBuild: true })
  const hfHome = tempDir('fs-e2e-hf-home-')
  const [snapshot] = addCachedModel(join(hfHome.dir, 'hub'), 'acme/tiny-stories', ['v1'])
  const saved = { HF_HOME: process.env.HF_HOME, HF_HUB_CACHE: process.env.HF_HUB_CACHE }
  const browserErrors: string[] = []
  let page: Page

  beforeAll(async () => {
    // The server runs in this process: discovery reads the cache location from its environment.
    process.env.HF_HOME = hfHome.dir
    delete process.env.HF_HUB_CACHE
    await studio.start()
    page = await studio.openStudioPage({ width: 1280, height: 900 }, browserErrors)
  }, SLOW_MS * 2)

  afterAll(async () => {
    await studio.close()
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
    hfHome.cleanup()
  })

  it(
    'finds the cached snapshot and registers it under its repository name',
    async () => {
      await page.getByTestId('nav-models').click()
      await page.getByTestId('model-discover-button').click()
      const row = page.getByTestId('discovered-model')
      await row.waitFor({ timeout: SLOW_MS })
      const name = `acme/tiny-stories@${revisionOf('v1').slice(0, 7)}`
      expect(await row.textContent()).toContain(name)
      expect(await row.textContent()).toContain('HF cache (main)')

      await row.getByTestId('discovered-register').click()
      await row.getByTestId('discovered-open').waitFor({ timeout: SLOW_MS })
      expect(await page.getByTestId('model-row').textContent()).toContain(name)
      const [model] = await studio.api('models.list', {})
      expect(model).toMatchObject({ name, path: snapshot })
    },
    SLOW_MS * 2
  )

  it(
    "opens the model's page from the discovery list",
    async () => {
      await page.getByTestId('discovered-open').click()
      const detail = page.getByTestId('model-detail')
      await detail.getByTestId('model-detail-source').waitFor({ timeout: SLOW_MS })
      expect(await detail.getByTestId('model-detail-source').textContent()).toContain(
        `Hugging Face cache: acme/tiny-stories at ${revisionOf('v1')} (main)`
      )
      expect(await detail.getByTestId('model-detail-template').textContent()).toContain('none')
      expect(await detail.getByTestId('model-detail-size').textContent()).toBe('1.01 MiB')
      expect(page.url()).toContain('model=')
      await screenshotWhole(page, 'models-detail.png')
    },
    SLOW_MS
  )

  it(
    'removes it from the list; its files stay, so it can be registered again',
    async () => {
      const detail = page.getByTestId('model-detail')
      await detail.getByTestId('model-remove-button').click()
      await detail.getByTestId('model-remove-confirm').click()
      await detail.getByTestId('model-detail-removed').waitFor()
      await page.getByTestId('models-empty').waitFor()
      expect(await studio.api('models.list', {})).toEqual([])
      await page.getByTestId('model-detail-close').click()
      await page.getByTestId('discovered-model').getByTestId('discovered-register').waitFor()
      expect(browserErrors).toEqual([])
    },
    SLOW_MS
  )
})

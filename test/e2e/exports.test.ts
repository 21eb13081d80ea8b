/**
 * Exports through the headless door, as a person would make them: a short LoRA run's checkpoint is
 * exported to GGUF from the run view's Export… dialog, its progress and lineage are shown, and the
 * file is downloaded through the served UI's Download button (the browser's download event). The
 * downloaded bytes are a GGUF file of the model's tensors.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openSafetensors } from '../../src-main/engine/checkpoint/safetensors'
import {
  embeddedModelDir,
  registerEmbeddedModel,
  screenshotWhole,
  StudioUnderTest,
  trainedQuickRun
} from './harness'

/** Long enough to register a model, train ten steps or export on a busy machine. */
const SLOW_MS = 120_000

function storyRows(): string {
  return Array.from({ length: 8 }, (_, i) =>
    JSON.stringify({
      messages: [
        { role: 'user', content: `Tell me a story about fox ${i}.` },
        { role: 'assistant', content: `Once upon a time, fox ${i} found a red ball. It was happy.` }
      ]
    })
  ).join('\n')
}

describe('exports, driven by Chromium', () => {
  const studio = new StudioUnderTest('exports', { ownBuild: true })
  const { api } = studio
  let page: Page
  const browserErrors: string[] = []
  let runId = 0

  beforeAll(async () => {
    await studio.start()
    const { id: baseModelId } = await registerEmbeddedModel(studio.server)
    const dataFile = join(studio.storeDir, 'foxes.jsonl')
    writeFileSync(dataFile, storyRows())
    const imported = await api('datasets.import', { path: dataFile, datasetName: 'foxes', cutVersion: true })
    runId = (await trainedQuickRun(studio.server, { baseModelId, datasetVersionId: imported.version!.id })).id
    page = await studio.openStudioPage({ width: 1360, height: 900 }, browserErrors)
  }, SLOW_MS * 2)

  afterAll(() => studio.close())

  it(
    'exports a checkpoint to GGUF from the run view and downloads it through the served UI',
    async () => {
      await page.getByTestId('nav-runs').click()
      await page.getByTestId('run-row').first().click()
      const detail = page.getByTestId('run-detail')
      await detail.waitFor()
      expect(Number(await detail.getAttribute('data-run-id'))).toBe(runId)
      const exportsPanel = detail.getByTestId('run-exports')
      const checkpoint = exportsPanel.locator('[data-testid="checkpoint-row"][data-step="10"]')
      await checkpoint.getByTestId('checkpoint-export').click()

      const dialog = exportsPanel.getByTestId('weights-export-dialog')
      await dialog.getByTestId('weights-export-format').selectOption('gguf')
      await dialog.getByTestId('weights-export-gguf-type').selectOption('F16')
      await dialog.getByTestId('weights-export-start').click()
      await dialog.waitFor({ state: 'detached' })

      const row = exportsPanel.getByTestId('export-row').first()
      await expect
        .poll(
          async () => {
            const status = await row.getAttribute('data-status')
            if (status === 'failed') throw new Error(`the export failed: ${await row.textContent()}`)
            return status
          },
          { timeout: SLOW_MS, interval: 100 }
        )
        .toBe('completed')
      expect(await row.getByTestId('export-lineage').textContent()).toBe(
        `of checkpoint at step 10 of run #${runId}`
      )
      await screenshotWhole(page, 'exports-run-view.png')

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        row.getByTestId('export-download').click()
      ])
      expect(download.suggestedFilename()).toMatch(/-gguf-F16\.gguf$/)
      const saved = join(studio.storeDir, 'downloaded.gguf')
      await download.saveAs(saved)
      const bytes = readFileSync(saved)
      expect(bytes.subarray(0, 4).toString('latin1')).toBe('GGUF')
      // GGUF v3 header: magic, u32 version, u64 tensor count.
      expect(bytes.readUInt32LE(4)).toBe(3)
      const base = openSafetensors(join(embeddedModelDir, 'model.safetensors'))
      const tensorCount = base.names().length
      base.close()
      expect(Number(bytes.readBigUInt64LE(8))).toBe(tensorCount)
      expect(browserErrors).toEqual([])
    },
    SLOW_MS * 2
  )
})

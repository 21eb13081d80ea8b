/**
 * Importing multiple-choice rows through the built UI in Debian's Chromium: ARC-Easy's dev split
 * (../shared/datasets/arc, nested `question: {stem, choices}`) is recognised, the import dialog says
 * what it composed for each field and why, the user switches the prompt to an alternative (the
 * nested path question.stem) and imports; the stored samples read what the dialog showed.
 */
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SHARED_DIR } from '../helpers/temp'
import { screenshotWhole, StudioUnderTest } from './harness'

const ARC_EASY_DEV = join(SHARED_DIR, 'datasets/arc/arc_easy_dev.jsonl')
/** Rows in that file. */
const ARC_EASY_DEV_ROWS = 570

describe('importing multiple-choice rows', () => {
  const studio = new StudioUnderTest('import-choices', { ownBuild: true })
  const { api } = studio
  let page: Page
  const browserErrors: string[] = []

  function fieldChoice(field: string) {
    return page.locator(`[data-testid="import-field-choice"][data-field="${field}"]`)
  }

  function firstPreviewTurns() {
    return page.getByTestId('import-preview-row').first().locator('.turn-text')
  }

  beforeAll(async () => {
    await studio.start()
    page = await studio.openStudioPage({ width: 1400, height: 900 }, browserErrors)
  })

  afterAll(async () => {
    await studio.close()
  })

  it('shows the composed mapping with its why, switches the prompt to an alternative and imports', async () => {
    await page.getByTestId('nav-datasets').click()
    await page.getByTestId('datasets-import-open').click()
    await page.getByTestId('import-path-input').fill(ARC_EASY_DEV)
    await page.getByTestId('import-preview-button').click()
    await page.getByTestId('import-detected').waitFor()

    expect(await page.getByTestId('import-format-select').inputValue()).toBe('prompt-completion')
    expect(await page.getByTestId('import-notes').textContent()).toContain('multiple choice (ARC layout')
    expect(await fieldChoice('prompt').getByTestId('import-field-why').textContent()).toContain(
      'the model needs the choices to pick one'
    )
    expect(await fieldChoice('completion').textContent()).toContain('the bare answer as the file holds it')
    expect(await page.getByTestId('import-column-prompt').inputValue()).toBe(' template')
    expect(await page.getByTestId('import-template-prompt').inputValue()).toContain('question.stem')
    expect(await firstPreviewTurns().allTextContents()).toEqual([
      'Which technology was developed most recently?\nA. cellular telephone\nB. television\nC. refrigerator\nD. airplane',
      'A. cellular telephone'
    ])
    await screenshotWhole(page, 'import-choices-detected.png')

    await fieldChoice('prompt').getByTestId('import-field-alternative').click()
    await expect
      .poll(() => firstPreviewTurns().first().textContent())
      .toBe('Which technology was developed most recently?')
    expect(await page.getByTestId('import-column-prompt').inputValue()).toBe('question.stem')
    expect(await page.getByTestId('import-template-prompt').count()).toBe(0)
    expect(await fieldChoice('prompt').getByTestId('import-field-detected').count()).toBe(1)

    await page.getByTestId('import-dataset-name').fill('arc easy')
    await page.getByTestId('import-cut-version').check()
    await page.getByTestId('import-start').click()
    await page.getByTestId('import-result').waitFor({ timeout: 60_000 })
    expect(await page.getByTestId('import-summary').textContent()).toContain(
      `Imported ${ARC_EASY_DEV_ROWS} samples into “arc easy”`
    )

    const [dataset] = await api('datasets.list', {})
    const [version] = await api('datasets.versions', { id: dataset.id })
    const { rows } = await api('datasets.versionSamples', { versionId: version.id, limit: 1, offset: 0 })
    expect(rows[0].conversation).toEqual({
      messages: [
        { role: 'user', content: 'Which technology was developed most recently?' },
        { role: 'assistant', content: 'A. cellular telephone' }
      ],
      metadata: { id: 'MCAS_2000_4_6' }
    })
    expect(browserErrors).toEqual([])
  })
})

/**
 * Dataset curation through the headless door: the built UI in Debian's Chromium imports a JSONL
 * file with a broken line, edits and undoes a turn, tags samples, finds a near-duplicate pair,
 * renders a template preview with the embedded model and cuts a version.
 */
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPage, registerEmbeddedModel, screenshotDir, StudioUnderTest } from './harness'
import type { ModelSummary } from '../../src-preload/contract'

// Two long answers that differ in one word: far above the default near-duplicate threshold.
const STORY =
  'Once upon a time a little fox lived at the edge of a quiet forest. Every morning she walked to the ' +
  'river to drink, watched the herons fish in the shallow water, and counted the stones on the bank. ' +
  'One day she found a shiny blue stone that sang softly when the wind blew over it, and she carried ' +
  'it home to show her'
const NEAR_A = `${STORY} brother.`
const NEAR_B = `${STORY} sister.`

const chat = (user: string, assistant: string) =>
  JSON.stringify({
    messages: [
      { role: 'user', content: user },
      { role: 'assistant', content: assistant }
    ]
  })

/** Six lines; line 4 is not JSON. */
const JSONL_LINES = [
  chat('What is the capital of France?', 'Paris is the capital of France.'),
  chat('Tell me a story about a fox.', NEAR_A),
  chat('Tell me a story about a fox, please.', NEAR_B),
  '{"messages": [{"role": "user", "content": "this line is cut off"',
  JSON.stringify({
    messages: [
      { role: 'system', content: 'You answer in one word.' },
      { role: 'user', content: 'Opposite of hot?' },
      { role: 'assistant', content: 'Cold.' }
    ]
  }),
  chat('How many legs does a spider have?', 'A spider has eight legs.')
]
const BROKEN_LINE = 4

describe('dataset curation in the browser', () => {
  const studio = new StudioUnderTest('datasets')
  const { api } = studio
  let dataDir: string
  let dataFile: string
  let page: Page
  let model: ModelSummary
  const browserErrors: string[] = []

  /** The sample id of the table row whose prompt contains `text`. */
  async function sampleIdOf(text: string): Promise<number> {
    const row = page
      .getByTestId('sample-row')
      .filter({ has: page.getByTestId('sample-prompt').getByText(text) })
    return Number(await row.first().getAttribute('data-sample-id'))
  }

  function rowOf(sampleId: number) {
    return page.locator(`[data-testid="sample-row"][data-sample-id="${sampleId}"]`)
  }

  /** A JSONL file of `count` short chats at `relativePath` under the data folder. */
  function chatFile(relativePath: string, count: number): string {
    const path = join(dataDir, relativePath)
    mkdirSync(dirname(path), { recursive: true })
    const lines = Array.from({ length: count }, (_, i) =>
      chat(`${relativePath} question ${i}?`, `Answer ${i}.`)
    )
    writeFileSync(path, `${lines.join('\n')}\n`)
    return path
  }

  async function previewFile(path: string): Promise<void> {
    await page.getByTestId('import-path-input').fill(path)
    await page.getByTestId('import-preview-button').click()
    await page.getByTestId('import-detected').waitFor()
  }

  async function importPanelTitle(): Promise<string> {
    return ((await page.getByTestId('import-title').textContent()) ?? '').replace(/\s+/g, ' ').trim()
  }

  async function samplesByDataset(): Promise<Record<string, number>> {
    const datasets = await api('datasets.list', {})
    return Object.fromEntries(datasets.map((dataset) => [dataset.name, dataset.sampleCount]))
  }

  beforeAll(async () => {
    await studio.start()
    dataDir = realpathSync(mkdtempSync(join(tmpdir(), 'finetune-studio-e2e-data-')))
    dataFile = join(dataDir, 'chats.jsonl')
    writeFileSync(dataFile, `${JSONL_LINES.join('\n')}\n`)

    // The template preview needs a base model; registration hashes the weights in a job.
    model = await registerEmbeddedModel(studio.server)

    page = await openPage(studio.browser, { width: 1400, height: 900 }, browserErrors)
  })

  afterAll(async () => {
    await studio.close()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  it('previews a JSONL file, reports its broken line, and imports the rest once told to skip it', async () => {
    await page.goto(studio.server.url)
    await page.locator('[data-testid="status-connection"][data-state="connected"]').waitFor()
    await page.getByTestId('nav-datasets').click()
    await page.getByTestId('datasets-empty').waitFor()

    await page.getByTestId('datasets-import-open').click()
    await page.getByTestId('import-path-input').fill(dataFile)
    await page.getByTestId('import-preview-button').click()
    await page.getByTestId('import-detected').waitFor()
    expect(await page.getByTestId('import-detected').textContent()).toContain('messages')
    expect(await page.getByTestId('import-format-select').inputValue()).toBe('messages')
    const brokenPreviewRow = page.locator(`[data-testid="import-preview-row"][data-line="${BROKEN_LINE}"]`)
    expect(await brokenPreviewRow.getByTestId('import-preview-error').count()).toBe(1)
    expect(await page.getByTestId('import-preview-error').count()).toBe(1)

    await page.getByTestId('import-dataset-name').fill('e2e chats')
    // The default is to stop on bad rows: nothing is imported and the line is shown.
    await page.getByTestId('import-start').click()
    await page.getByTestId('import-aborted').waitFor()
    expect(await page.getByTestId('import-bad-row').count()).toBe(1)
    expect(await page.getByTestId('import-bad-row-line').textContent()).toBe(String(BROKEN_LINE))
    expect(await page.getByTestId('import-bad-row').textContent()).toContain('chats.jsonl')
    const stored = await api('datasets.list', {})
    expect(stored.reduce((sum, dataset) => sum + dataset.sampleCount, 0)).toBe(0)

    await page.getByTestId('import-skip-bad-rows').click()
    await page.getByTestId('import-result').waitFor()
    const summary = await page.getByTestId('import-summary').textContent()
    expect(summary).toContain('Imported 5 samples')
    expect(summary).toContain('skipped 1 bad row')
    expect(await page.getByTestId('import-bad-row-line').textContent()).toBe(String(BROKEN_LINE))

    await page.getByTestId('import-close').click()
    await page.getByTestId('dataset-workspace').waitFor()
    expect(await page.getByTestId('dataset-name').textContent()).toBe('e2e chats')
    await expect.poll(() => page.getByTestId('sample-row').count()).toBe(5)
    expect(await page.getByTestId('dataset-sample-count').textContent()).toBe('5')
  })

  it('finds samples with the full-text search', async () => {
    await page.getByTestId('sample-search').fill('spider')
    await expect.poll(() => page.getByTestId('sample-row').count()).toBe(1)
    expect(await page.getByTestId('sample-prompt').textContent()).toContain('spider')
    await page.getByTestId('sample-search').fill('')
    await expect.poll(() => page.getByTestId('sample-row').count()).toBe(5)
  })

  it('edits a turn as a new revision and undoes it', async () => {
    const sampleId = await sampleIdOf('capital of France')
    await rowOf(sampleId).click()
    await page.getByTestId('sample-editor').waitFor()
    expect(await page.getByTestId('editor-revision').textContent()).toBe('r1')
    const answer = page.getByTestId('turn-content').nth(1)
    expect(await answer.inputValue()).toBe('Paris is the capital of France.')

    await answer.fill('Lyon is the capital of France.')
    expect(await page.getByTestId('editor-dirty').count()).toBe(1)
    await page.getByTestId('editor-note').fill('wrong on purpose')
    await page.getByTestId('editor-save').click()
    await expect.poll(() => page.getByTestId('editor-revision').textContent()).toBe('r2')
    await expect.poll(() => rowOf(sampleId).getByTestId('sample-response').textContent()).toContain('Lyon')
    await expect.poll(() => page.getByTestId('history-entry').count()).toBe(2)
    expect(await page.getByTestId('sample-history').textContent()).toContain('wrong on purpose')

    await page.getByTestId('editor-undo').click()
    await expect.poll(() => page.getByTestId('editor-revision').textContent()).toBe('r3')
    expect(await page.getByTestId('turn-content').nth(1).inputValue()).toBe('Paris is the capital of France.')
    await expect.poll(() => rowOf(sampleId).getByTestId('sample-response').textContent()).toContain('Paris')
    await expect.poll(() => page.getByTestId('history-entry').count()).toBe(3)
    await page.getByTestId('editor-close').click()
  })

  it('tags a selection of samples in bulk and filters by the tag', async () => {
    const spider = await sampleIdOf('spider')
    const opposite = await sampleIdOf('Opposite of hot')
    await rowOf(spider).getByTestId('sample-select').check()
    await rowOf(opposite).getByTestId('sample-select').check()
    expect(await page.getByTestId('bulk-selected-count').textContent()).toBe('2 selected')
    await page.getByTestId('bulk-tag-input').fill('reviewed')
    await page.getByTestId('bulk-tag').click()
    await expect.poll(() => page.getByTestId('bulk-outcome').textContent()).toBe('Tagged 2 samples')
    await expect.poll(() => rowOf(spider).getByTestId('sample-tags').textContent()).toContain('reviewed')
    expect(await rowOf(opposite).getByTestId('sample-tags').textContent()).toContain('reviewed')
    expect(await page.getByTestId('sample-tags').filter({ hasText: 'reviewed' }).count()).toBe(2)
    await page.getByTestId('bulk-clear').click()

    await page.getByTestId('filter-tag').selectOption('reviewed')
    await expect.poll(() => page.getByTestId('sample-row').count()).toBe(2)
    expect(await page.getByTestId('sample-match-count').textContent()).toContain('2 samples match')
    await page.getByTestId('filter-tag').selectOption('')
    await expect.poll(() => page.getByTestId('sample-row').count()).toBe(5)
    // Tags and the edited sample's revision marker are in the picture.
    await page
      .getByTestId('dataset-workspace')
      .screenshot({ path: join(screenshotDir, 'datasets-table.png') })
  })

  it('finds the near-duplicate pair as one group', async () => {
    const first = await sampleIdOf('Tell me a story about a fox.')
    const second = await sampleIdOf('Tell me a story about a fox, please.')
    await page.getByTestId('tab-quality').click()
    await page.getByTestId('quality-tab').waitFor()
    // Two steps of 0.05 down from the default 0.8, with the keys a slider answers to.
    await page.getByTestId('near-threshold').focus()
    await page.keyboard.press('ArrowLeft')
    await page.keyboard.press('ArrowLeft')
    expect(await page.getByTestId('near-threshold-value').textContent()).toBe('0.70')
    await page.getByTestId('find-near-duplicates').click()
    const groups = page.getByTestId('duplicates-near').getByTestId('duplicate-group')
    await groups.first().waitFor({ timeout: 60_000 })
    expect(await groups.count()).toBe(1)
    expect(await groups.getAttribute('data-sample-ids')).toBe([first, second].sort((a, b) => a - b).join(','))
  })

  it('renders the template preview of a sample with its trained span highlighted', async () => {
    const sampleId = await sampleIdOf('capital of France')
    await page.getByTestId('quality-model-select').selectOption(String(model.id))
    await page.getByTestId('template-sample-id').fill(String(sampleId))
    await page.getByTestId('template-render').click()
    await page.getByTestId('template-rendered').waitFor()
    expect(await page.getByTestId('template-rendered').textContent()).toContain(
      'What is the capital of France?'
    )
    const trained = page.getByTestId('template-trained-span')
    expect(await trained.count()).toBeGreaterThan(0)
    expect(await trained.allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('Paris is the capital of France.')])
    )
    expect((await trained.allTextContents()).join('')).not.toContain('What is the capital')
    const tokens = Number(await page.getByTestId('template-token-count').textContent())
    const trainedTokens = Number(await page.getByTestId('template-trained-count').textContent())
    expect(trainedTokens).toBeGreaterThan(0)
    expect(tokens).toBeGreaterThan(trainedTokens)
    expect(await page.getByTestId('template-meta').textContent()).toContain(model.name)
    await page
      .getByTestId('template-preview-card')
      .screenshot({ path: join(screenshotDir, 'datasets-template-preview.png') })
  })

  it('shows role statistics and lists the samples the pre-flight check finds too long', async () => {
    const foxes = [
      await sampleIdOf('Tell me a story about a fox.'),
      await sampleIdOf('Tell me a story about a fox, please.')
    ]
    expect(await page.getByTestId('dataset-stats').textContent()).toContain('5 samples')
    expect(await page.getByTestId('chart-roles').locator('canvas').count()).toBe(1)
    // Left empty, the length is the registered model's context: 512 tokens, not a guess of 2048.
    expect(await page.getByTestId('preflight-model').inputValue()).toBe(String(model.id))
    await page.getByTestId('preflight-run').click()
    const basis = page.getByTestId('preflight-basis')
    await basis.waitFor({ timeout: 60_000 })
    expect((await basis.textContent())?.replace(/\s+/g, ' ').trim()).toBe(
      `Checked with ${model.name} against 512 tokens (its context).`
    )
    expect(await page.getByTestId('preflight-count-too_long').textContent()).toBe('0 too long')
    // The stories are far longer than 100 tokens, the other samples shorter.
    await page.getByTestId('preflight-max-length').fill('100')
    await page.getByTestId('preflight-run').click()
    await expect
      .poll(() => page.getByTestId('preflight-count-too_long').textContent(), { timeout: 60_000 })
      .toBe('2 too long')
    expect((await basis.textContent())?.replace(/\s+/g, ' ')).toContain(
      'against 100 tokens (its context is 512)'
    )
    await page
      .getByTestId('preflight-panel')
      .screenshot({ path: join(screenshotDir, 'datasets-preflight.png') })
    const problems = page.getByTestId('preflight-problem')
    expect(await problems.count()).toBe(2)
    expect((await problems.allTextContents()).join(' ')).toContain(`#${foxes[0]}`)
    expect((await problems.allTextContents()).join(' ')).toContain(`#${foxes[1]}`)
  })

  it('assigns seeded splits', async () => {
    await page.getByTestId('tab-versions').click()
    await page.getByTestId('versions-empty').waitFor()
    await page.getByTestId('split-train').fill('60')
    await page.getByTestId('split-validation').fill('20')
    await page.getByTestId('split-test').fill('20')
    await page.getByTestId('split-seed').fill('7')
    await page.getByTestId('split-assign').click()
    await page.getByTestId('split-result').waitFor()
    const counts = (await page.getByTestId('split-result').textContent())!.match(/\d+/g)!.map(Number)
    // train, validation, test, then how many moved
    expect(counts[0] + counts[1] + counts[2]).toBe(5)
    expect(counts[1] + counts[2]).toBeGreaterThan(0)
  })

  it('cuts an immutable version identified by its content hash', async () => {
    await page.getByTestId('version-note').fill('first curated cut')
    await page.getByTestId('version-cut').click()
    await page.getByTestId('version-cut-result').waitFor()
    const hash = await page.getByTestId('version-cut-hash').textContent()
    expect(hash).toMatch(/^[0-9a-f]{64}$/)
    const row = page.getByTestId('version-row')
    await expect.poll(() => row.count()).toBe(1)
    expect(await row.textContent()).toContain('first curated cut')
    expect(await row.getByTestId('version-hash').getAttribute('title')).toBe(hash)
    const [version] = await api('datasets.versions', {
      id: (await api('datasets.list', {}))[0].id
    })
    expect(version).toMatchObject({ contentHash: hash, sampleCount: 5 })
  })

  it('exports the version as ShareGPT JSONL', async () => {
    const exportFile = join(dataDir, 'export.jsonl')
    await page.getByTestId('version-export-1').click()
    await page.getByTestId('export-format').selectOption('sharegpt')
    await page.getByTestId('export-path').fill(exportFile)
    await page.getByTestId('export-run').click()
    await page.getByTestId('export-result').waitFor({ timeout: 60_000 })
    expect(await page.getByTestId('export-result').textContent()).toContain('Wrote 5 samples')
    const lines = readFileSync(exportFile, 'utf8').trim().split('\n')
    expect(lines).toHaveLength(5)
    const france = lines.map((line) => JSON.parse(line)).find((row) => JSON.stringify(row).includes('France'))
    expect(france.conversations).toEqual([
      { from: 'human', value: 'What is the capital of France?' },
      { from: 'gpt', value: 'Paris is the capital of France.' }
    ])
    await page.getByTestId('versions-tab').screenshot({ path: join(screenshotDir, 'datasets-versions.png') })
  })

  it('imports into a new dataset after "← All datasets" with the import panel open, named after its folder', async () => {
    await page.getByTestId('datasets-back').click()
    await page.getByTestId('datasets-table').waitFor()
    await page.getByTestId('datasets-import-open').click()
    await previewFile(chatFile('gsm8k/train.jsonl', 3))
    await page.getByTestId('import-dataset-name').fill('gsm8k')
    await page.getByTestId('import-start').click()
    await page.getByTestId('import-result').waitFor()
    // The outcome stays in view above the new dataset, which is now the panel's target.
    await expect.poll(() => page.getByTestId('dataset-name').textContent()).toBe('gsm8k')
    expect(await importPanelTitle()).toBe('Import data into “gsm8k”')

    await page.getByTestId('datasets-back').click()
    await page.getByTestId('datasets-table').waitFor()
    expect(await importPanelTitle()).toBe('Import data')
    // A file named for its split is named after its folder.
    await previewFile(chatFile('stories/validation.jsonl', 2))
    expect(await page.getByTestId('import-dataset-name').inputValue()).toBe('stories')
    await page.getByTestId('import-panel').screenshot({ path: join(screenshotDir, 'datasets-import.png') })
    await page.getByTestId('import-start').click()
    await page.getByTestId('import-result').waitFor()
    expect(await page.getByTestId('import-summary').textContent()).toBe('Imported 2 samples into “stories”.')
    expect(await samplesByDataset()).toEqual({ 'e2e chats': 5, gsm8k: 3, stories: 2 })
  })

  it('starts the next new import on the train split, whatever split an "Import more" chose', async () => {
    await page.getByTestId('import-close').click()
    await page.getByTestId('dataset-import-more').click()
    expect(await importPanelTitle()).toBe('Import data into “stories”')
    await previewFile(chatFile('held-out/stories-test.jsonl', 2))
    await page.getByTestId('import-split').selectOption('test')
    await page.getByTestId('import-start').click()
    await page.getByTestId('import-result').waitFor()
    await expect.poll(() => page.getByTestId('dataset-split-test').textContent()).toBe('test 2')

    await page.getByTestId('import-close').click()
    await page.getByTestId('datasets-back').click()
    await page.getByTestId('datasets-import-open').click()
    await previewFile(chatFile('recipes.jsonl', 2))
    expect(await page.getByTestId('import-split').inputValue()).toBe('train')
    await page.getByTestId('import-start').click()
    await page.getByTestId('import-result').waitFor()
    await expect.poll(() => page.getByTestId('dataset-name').textContent()).toBe('recipes')
    await expect.poll(() => page.getByTestId('dataset-split-train').textContent()).toBe('train 2')
    expect(await page.getByTestId('dataset-split-test').textContent()).toBe('test 0')
    await page.getByTestId('import-close').click()
  })

  it('asks before deleting samples in bulk, saying how many', async () => {
    await page.getByTestId('sample-select-all').click()
    await expect.poll(() => page.getByTestId('bulk-selected-count').textContent()).toBe('2 selected')
    await page.getByTestId('bulk-delete').click()
    const prompt = page.getByTestId('bulk-delete-prompt')
    expect(await prompt.textContent()).toContain(
      'Delete 2 samples? They stay restorable until the next version is cut.'
    )
    await page.getByTestId('bulk-bar').screenshot({ path: join(screenshotDir, 'datasets-bulk-delete.png') })
    await page.getByTestId('bulk-delete-abort').click()
    await prompt.waitFor({ state: 'detached' })
    expect(await page.getByTestId('dataset-sample-count').textContent()).toBe('2')

    await page.getByTestId('bulk-delete').click()
    await page.getByTestId('bulk-delete-confirm').click()
    await expect.poll(() => page.getByTestId('dataset-sample-count').textContent()).toBe('0')
    expect((await samplesByDataset()).recipes).toBe(0)
  })

  it('logged no browser errors along the way', () => {
    expect(browserErrors).toEqual([])
  })
})

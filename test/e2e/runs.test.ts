/**
 * The run workspace through the headless door, as a person would use it: recipes, a run created with
 * the new-run form (pre-flight first), its loss chart filling live, pause (no new points), resume,
 * stop, continue with more steps (the settings follow), a second run of another recipe waiting in the
 * queue, and the two runs compared (validation loss first; training losses said not comparable).
 * The tiny stories260K model trains about twenty steps a second on one core, so the first run is
 * planned long (batch size 1, thousands of steps) and is ended by the test, not by its plan.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { embeddedModelDir, screenshotDir, screenshotWhole, StudioUnderTest } from './harness'
import type { RunStatus } from '../../src-preload/contract'

/** Long enough to register a model, compile a step graph or wait for a run on a busy machine. */
const SLOW_MS = 120_000
/** How long a paused run must add no point to the chart. */
const PAUSE_OBSERVED_MS = 3000

/** Two names that share a long beginning, as names of runs on the same data often do. */
const FIRST_RUN_NAME = 'stories260K LoRA on story requests v1, batch 1, evaluated every 20 steps: long sft'
const SECOND_RUN_NAME = 'stories260K LoRA on story requests v1, batch 2, evaluated every 5 steps: short dft'

const ANIMALS = ['cat', 'dog', 'bird', 'fox', 'frog', 'bear', 'duck', 'fish']
const NAMES = ['Tom', 'Lily', 'Max', 'Sue', 'Ben']

/** Short story requests in the messages format: 32 for training, 8 held out. */
function writeStoryRequests(dir: string): { train: string; validation: string } {
  const line = (index: number) => {
    const animal = ANIMALS[index % ANIMALS.length]
    const name = NAMES[index % NAMES.length]
    return JSON.stringify({
      messages: [
        { role: 'user', content: `Tell me a story about ${name} the ${animal}.` },
        {
          role: 'assistant',
          content: `Once upon a time, there was a ${animal} named ${name}. ${name} liked to play in the sun. One day, ${name} found a red ball and was very happy.`
        }
      ]
    })
  }
  const train = join(dir, 'stories-train.jsonl')
  const validation = join(dir, 'stories-validation.jsonl')
  writeFileSync(train, Array.from({ length: 32 }, (_, i) => line(i)).join('\n') + '\n')
  writeFileSync(validation, Array.from({ length: 8 }, (_, i) => line(100 + i)).join('\n') + '\n')
  return { train, validation }
}

describe('the run workspace, driven by Chromium', () => {
  const studio = new StudioUnderTest('runs', { ownBuild: true })
  const { api } = studio
  let page: Page
  const browserErrors: string[] = []
  let firstRunId = 0
  let secondRunId = 0

  const detail = () => page.getByTestId('run-detail')
  const lossChart = () => detail().getByTestId('chart-loss')

  /** Both attributes read at one moment: the chart gains points while the run trains. */
  async function lossPoints(): Promise<{ count: number; lastStep: number }> {
    const [count, lastStep] = await lossChart().evaluate((chart) => [
      chart.getAttribute('data-point-count'),
      chart.getAttribute('data-last-step')
    ])
    return { count: Number(count), lastStep: Number(lastStep) }
  }

  /** The status badge of the open run; a failure shows its error instead of waiting out the timeout. */
  async function waitForStatus(status: RunStatus, timeout = SLOW_MS): Promise<void> {
    const badge = detail().locator(`[data-testid="run-status"][data-status="${status}"]`).first()
    const failed = detail().locator('[data-testid="run-status"][data-status="failed"]').first()
    await badge.or(failed).waitFor({ timeout })
    if ((await failed.count()) > 0 && status !== 'failed') {
      throw new Error(`run failed: ${await detail().getByTestId('run-error').textContent()}`)
    }
  }

  /** The step the progress bar shows (from run.progress events, not the chart). */
  async function progressStep(): Promise<number> {
    const text = (await detail().getByTestId('run-progress-steps').textContent()) ?? ''
    const match = /step ([\d,]+)/.exec(text)
    if (!match) throw new Error(`no step in the progress bar: ${JSON.stringify(text)}`)
    return Number(match[1].replaceAll(',', ''))
  }

  /** The value the open run's Settings table shows for a configuration key. */
  async function setting(key: string): Promise<string | null> {
    return detail().locator(`[data-testid="run-setting"][data-key="${key}"] td`).textContent()
  }

  async function fillNumber(locator: Locator, value: number): Promise<void> {
    await locator.fill(String(value))
  }

  beforeAll(async () => {
    await studio.start()
    const files = writeStoryRequests(studio.storeDir)
    const imported = await api('datasets.import', { path: files.train, datasetName: 'story requests' })
    await api('datasets.import', {
      path: files.validation,
      datasetId: imported.dataset.id,
      split: 'validation',
      cutVersion: true,
      note: 'e2e'
    })
    page = await studio.openStudioPage({ width: 1280, height: 900 }, browserErrors)
  })

  afterAll(() => studio.close())

  it('lists every recipe with its explanation, paper and parameters', async () => {
    await page.getByTestId('nav-recipes').click()
    await page.getByTestId('recipe-list').waitFor()
    for (const name of ['sft', 'dft', 'asft']) await page.getByTestId(`recipe-${name}`).waitFor()
    const asft = page.getByTestId('recipe-asft')
    expect(await asft.getByTestId('recipe-paper').textContent()).toContain('Anchored Supervised Fine-Tuning')
    expect(await asft.getByTestId('recipe-paper').locator('a').getAttribute('href')).toBe(
      'https://arxiv.org/abs/2509.23753'
    )
    const params = await asft.getByTestId('recipe-params').textContent()
    expect(params).toContain('kl_weight')
    expect(params).toContain('0.1')
    expect(await asft.textContent()).toContain('uses the base model')
    await screenshotWhole(page, 'recipes.png')
  })

  it('validates a model folder with a clear error, then registers the embedded model folder from the form', async () => {
    await page.getByTestId('nav-runs').click()
    await page.getByTestId('runs-empty').waitFor()
    await page.getByTestId('new-run-button').click()
    const form = page.getByTestId('new-run-form')
    await form.waitFor()

    await form.getByTestId('new-run-model-folder-toggle').click()
    const missing = join(studio.storeDir, 'no-model-here')
    await form.getByTestId('new-run-model-path').fill(missing)
    await form.getByTestId('new-run-model-validate').click()
    const error = form.getByTestId('new-run-model-error').first()
    await error.waitFor()
    expect(await error.textContent()).toContain(missing)
    expect(await form.getByTestId('new-run-model-register').count()).toBe(0)

    await form.getByTestId('new-run-model-path').fill(embeddedModelDir)
    await form.getByTestId('new-run-model-validate').click()
    await form.getByTestId('new-run-model-register').click()
    await form.getByTestId('new-run-model-chosen').waitFor({ timeout: SLOW_MS })
    expect(await form.getByTestId('new-run-model-chosen').textContent()).toContain(embeddedModelDir)
  })

  it('checks the settings before the run (pre-flight) and starts it from the form', async () => {
    const form = page.getByTestId('new-run-form')
    // The only dataset with a version is chosen by itself, at its newest version.
    await expect.poll(() => form.getByTestId('new-run-version').inputValue()).not.toBe('')
    await form.getByTestId('new-run-length-by').selectOption('steps')
    await fillNumber(form.getByTestId('new-run-steps'), 3000)
    await fillNumber(form.getByTestId('new-run-batch-size'), 1)
    await fillNumber(form.getByTestId('new-run-eval-every'), 20)
    await fillNumber(form.getByTestId('new-run-save-every'), 25)
    await form.getByTestId('new-run-name').fill(FIRST_RUN_NAME)
    expect(await form.getByTestId('new-run-start').isDisabled()).toBe(true)

    await form.getByTestId('new-run-preflight').click()
    const report = form.getByTestId('preflight-report')
    await report.waitFor({ timeout: SLOW_MS })
    expect(await report.getAttribute('data-ok')).toBe('true')
    expect(await report.getByTestId('preflight-total-steps').textContent()).toBe('3,000')
    expect(await report.getByTestId('preflight-tokens').textContent()).toMatch(/32 train · 8 validation/)
    expect(await report.getByTestId('template-preview').textContent()).toContain('Tell me a story about')
    // The assistant's answer is what is trained: it is the highlighted part of the preview.
    expect(await report.getByTestId('template-preview').locator('mark').first().textContent()).toContain(
      'Once upon a time'
    )
    await report.getByTestId('preflight-estimate').waitFor()
    await screenshotWhole(page, 'runs-new.png')

    // The Memory group: an int4 base needs a fraction of the float32 base's memory for the frozen
    // weights; the estimate shows the chunked loss and the runtime (recompute is on by default).
    const memoryPart = async (key: string) =>
      parseBytes(await report.getByTestId(`preflight-memory-${key}`).textContent())
    expect(await form.getByTestId('new-run-recompute').isChecked()).toBe(true)
    const fp32Weights = await memoryPart('weights')
    await form.getByTestId('new-run-base-precision').selectOption('int4')
    expect(await form.getByTestId('new-run-start').isDisabled()).toBe(true)
    await form.getByTestId('new-run-preflight').click()
    await expect.poll(() => memoryPart('weights')).toBeLessThan(fp32Weights / 4)
    expect(await memoryPart('logits')).toBeGreaterThan(0)
    expect(await memoryPart('runtime')).toBeGreaterThan(0)
    await report
      .getByTestId('preflight-estimate')
      .screenshot({ path: join(screenshotDir, 'runs-memory-estimate.png') })
    await form.getByTestId('new-run-base-precision').selectOption('fp32')

    // Any edit makes the check stale: the run cannot start on settings nobody checked.
    await fillNumber(form.getByTestId('new-run-seed'), 1)
    expect(await form.getByTestId('new-run-start').isDisabled()).toBe(true)
    await form.getByTestId('new-run-preflight').click()
    await report.waitFor()
    await form.getByTestId('new-run-start').click()

    await form.waitFor({ state: 'detached' })
    await detail().waitFor()
    firstRunId = Number(await detail().getAttribute('data-run-id'))
    expect(firstRunId).toBeGreaterThan(0)
    expect(await page.getByTestId('run-row').count()).toBe(1)
  })

  it('fills the loss chart live while the run trains', async () => {
    await waitForStatus('running')
    await expect.poll(async () => (await lossPoints()).count, { timeout: SLOW_MS }).toBeGreaterThanOrEqual(5)
    await expect
      .poll(() => detail().getByTestId('run-progress-steps').textContent())
      .toMatch(/step [\d,]+ \/ 3,000/)
    await detail().getByTestId('run-eta').waitFor()
    await detail().getByTestId('run-log-line').first().waitFor()
    await detail().getByTestId('resources-cpu').waitFor()
    await expect
      .poll(
        async () => Number(await detail().getByTestId('chart-eval_loss').getAttribute('data-point-count')),
        {
          timeout: SLOW_MS
        }
      )
      .toBeGreaterThanOrEqual(2)
    await screenshotWhole(page, 'runs-live.png')
  })

  it('pauses: the chart receives no new point while the run is paused', async () => {
    await expect.poll(() => page.getByTestId('status-jobs').textContent()).toBe('1 job running')
    await detail().getByTestId('run-pause').click()
    await waitForStatus('paused')
    // A paused run is not a running job.
    await expect.poll(() => page.getByTestId('status-jobs').textContent()).toBe('1 run paused')
    // The chart redraws a moment after the last step it was told of; let it catch up first.
    const lastReported = await progressStep()
    await expect.poll(async () => (await lossPoints()).lastStep).toBe(lastReported)
    const paused = await lossPoints()
    await page.waitForTimeout(PAUSE_OBSERVED_MS)
    expect(await lossPoints()).toEqual(paused)
    expect(await detail().getByTestId('run-pause').isVisible()).toBe(false)
    expect(await detail().getByTestId('run-resume').isVisible()).toBe(true)
  })

  it('resumes: points continue after the paused step', async () => {
    const paused = await lossPoints()
    await detail().getByTestId('run-resume').click()
    await waitForStatus('running')
    await expect
      .poll(async () => (await lossPoints()).lastStep, { timeout: SLOW_MS })
      .toBeGreaterThan(paused.lastStep + 3)
    // Steps go on from where they were: no gap, no step trained twice.
    const resumed = await lossPoints()
    expect(resumed.count).toBe(resumed.lastStep)
  })

  let stoppedAt = 0

  it('stops with a checkpoint, then continues with more steps from it', async () => {
    await detail().getByTestId('run-settings-toggle').click()
    expect(await setting('maxSteps')).toBe('3,000')
    await detail().getByTestId('run-stop').click()
    await waitForStatus('stopped')
    stoppedAt = (await lossPoints()).lastStep
    expect(await detail().getByTestId('run-continue').isVisible()).toBe(true)
    expect(await detail().getByTestId('run-pause').isVisible()).toBe(false)

    await detail().getByTestId('run-continue').click()
    await fillNumber(detail().getByTestId('run-continue-amount'), 50)
    await detail().getByTestId('run-continue-unit').selectOption('steps')
    await detail().getByTestId('run-continue-confirm').click()
    await waitForStatus('running')
    await expect
      .poll(async () => (await lossPoints()).lastStep, { timeout: SLOW_MS })
      .toBeGreaterThan(stoppedAt + 3)
    // The plan grew by the 50 steps asked for.
    await expect.poll(() => detail().getByTestId('run-progress-steps').textContent()).toMatch(/\/ 3,050/)
    // The settings are what the run trains with now, not what it was started with.
    await expect.poll(() => setting('maxSteps')).toBe('3,050')
    expect(await setting('batchSize')).toBe('1')
    const labels = await detail().locator('[data-testid="run-setting"] th').allTextContents()
    expect(labels).toContain('Learning rate')
    expect(labels.join()).not.toMatch(/replanSchedule|resumeFrom|outDir/)
    await detail()
      .getByTestId('run-settings')
      .screenshot({ path: join(screenshotDir, 'runs-settings.png') })
  })

  it('queues a second run of another recipe while the first trains, and runs it once the first stops', async () => {
    await page.getByTestId('new-run-button').click()
    const form = page.getByTestId('new-run-form')
    // The form keeps the last settings; this run is short and learns faster.
    await expect.poll(() => form.getByTestId('new-run-model').inputValue()).not.toBe('')
    await fillNumber(form.getByTestId('new-run-steps'), 20)
    await fillNumber(form.getByTestId('new-run-batch-size'), 2)
    await fillNumber(form.getByTestId('new-run-lr'), 0.001)
    await fillNumber(form.getByTestId('new-run-eval-every'), 5)
    await form.getByTestId('new-run-recipe').selectOption('dft')
    await form.getByTestId('new-run-name').fill(SECOND_RUN_NAME)
    await form.getByTestId('new-run-preflight').click()
    await form.getByTestId('preflight-report').waitFor({ timeout: SLOW_MS })
    await form.getByTestId('new-run-start').click()
    await form.waitFor({ state: 'detached' })

    secondRunId = Number(await detail().getAttribute('data-run-id'))
    expect(secondRunId).not.toBe(firstRunId)
    // One run trains at a time per device: the second waits, first in line.
    await waitForStatus('queued')
    expect(await detail().getByTestId('run-status').first().textContent()).toContain('#1')

    await page.getByTestId(`run-select-${firstRunId}`).click()
    await expect.poll(() => detail().getAttribute('data-run-id')).toBe(String(firstRunId))
    await detail().getByTestId('run-stop').click()
    await waitForStatus('stopped')

    await page.getByTestId(`run-select-${secondRunId}`).click()
    await expect.poll(() => detail().getAttribute('data-run-id')).toBe(String(secondRunId))
    await waitForStatus('completed')
    await expect.poll(async () => (await lossPoints()).count).toBe(20)
  })

  it('compares the two runs: validation loss first, training losses said not comparable, the settings that differ', async () => {
    await page.getByTestId('nav-compare').click()
    // Every name is whole, to tell runs apart that differ only at the end of their names.
    const names = page.getByTestId('compare-run-name')
    await expect
      .poll(() => names.allTextContents())
      .toEqual([`#${secondRunId} ${SECOND_RUN_NAME}`, `#${firstRunId} ${FIRST_RUN_NAME}`])
    for (const name of await names.all()) {
      expect(await name.evaluate((element) => element.scrollWidth <= element.clientWidth)).toBe(true)
      expect(await name.getAttribute('title')).toBe(await name.textContent())
    }
    await page.getByTestId(`compare-run-${firstRunId}`).check()
    await page.getByTestId(`compare-run-${secondRunId}`).check()
    const chart = page.getByTestId('compare-chart')
    // Both runs measured validation loss, the one loss every recipe measures the same way.
    await expect.poll(() => chart.getAttribute('data-line-count')).toBe('2')
    expect(await page.getByTestId('compare-metric').inputValue()).toBe('eval_loss')
    expect(await page.getByTestId('compare-loss-warning').count()).toBe(0)

    await page.getByTestId('compare-metric').selectOption('loss')
    await expect.poll(() => chart.getAttribute('data-line-count')).toBe('2')
    expect(Number(await chart.getAttribute('data-point-count'))).toBeGreaterThan(stoppedAt + 20)
    expect(await page.getByTestId('compare-loss-warning').textContent()).toContain(
      'These runs train with different recipes (sft, dft)'
    )

    const diff = page.getByTestId('config-diff')
    await diff.waitFor()
    const keys = await diff
      .getByTestId('config-diff-row')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-key')))
    expect(keys).toEqual(expect.arrayContaining(['recipe.name', 'batchSize', 'lr']))
    // Only differences, each once, under the names the new-run form uses.
    expect(keys).not.toContain('recipeName')
    expect(keys).not.toContain('replanSchedule')
    expect(keys).not.toContain('modelDir')
    const labels = await diff.getByTestId('config-diff-label').allTextContents()
    expect(labels).toEqual(expect.arrayContaining(['Recipe', 'Batch size', 'Learning rate']))
    // Run names as typed, not in the capitals of the column headings.
    const heading = diff.getByTestId('config-diff-run').first()
    expect(
      await heading.evaluate(
        (element) => element.ownerDocument.defaultView!.getComputedStyle(element).textTransform
      )
    ).toBe('none')
    expect(await heading.textContent()).toContain(FIRST_RUN_NAME)

    await screenshotWhole(page, 'runs-compare.png')
  })

  it('deletes a finished run after a confirmation, and it leaves the list', async () => {
    await page.getByTestId('nav-runs').click()
    await page.getByTestId(`run-select-${secondRunId}`).click()
    await expect.poll(() => detail().getAttribute('data-run-id')).toBe(String(secondRunId))
    await detail().getByTestId('run-delete').click()
    await detail().getByTestId('run-delete-confirm').click()
    await page.getByTestId(`run-select-${secondRunId}`).waitFor({ state: 'detached' })
    expect(await page.getByTestId('run-row').count()).toBe(1)
    await expect(api('runs.get', { id: secondRunId })).rejects.toThrow(/runs.get/)
  })

  it('logged no browser errors along the way', () => {
    expect(browserErrors).toEqual([])
  })
})

/** "2.45 MiB" (runFormat.formatBytes) → bytes. */
function parseBytes(text: string | null): number {
  const match = /^([\d.]+) (B|KiB|MiB|GiB)$/.exec(text?.trim() ?? '')
  if (!match) throw new Error(`not a byte size: ${JSON.stringify(text)}`)
  return Number(match[1]) * 1024 ** ['B', 'KiB', 'MiB', 'GiB'].indexOf(match[2])
}

/**
 * Recipes through the headless door, as a person would use them: the Recipes view's cards grouped
 * with their papers and needs, `dpo` chosen from its card with its generated form filled in, refused
 * by pre-flight on data without rejected responses, then trained on an imported preference dataset,
 * its reward-margin chart filling in the run view.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  completedRunDetail,
  recipeChartWith,
  registerEmbeddedModel,
  screenshotWhole,
  startRunFromForm,
  StudioUnderTest
} from './harness'

/** Long enough to compile a step graph or train a short run on a busy machine. */
const SLOW_MS = 120_000

const NAMES = ['Tom', 'Lily', 'Max', 'Sue']
const ANIMALS = ['cat', 'dog', 'bird', 'fox']

/** Story requests as preference pairs (prompt, chosen, rejected) and as plain conversations. */
function writeStoryFiles(dir: string): { pairs: string; plain: string } {
  const request = (i: number) => `Tell me a story about ${NAMES[i % 4]} the ${ANIMALS[(i >> 2) % 4]}.`
  const story = (i: number) =>
    `Once upon a time, there was a ${ANIMALS[(i >> 2) % 4]} named ${NAMES[i % 4]}. It was happy.`
  const pairs = join(dir, 'story-pairs.jsonl')
  const plain = join(dir, 'story-requests.jsonl')
  const rows = Array.from({ length: 16 }, (_, i) => i)
  writeFileSync(
    pairs,
    rows.map((i) => JSON.stringify({ prompt: request(i), chosen: story(i), rejected: 'No.' })).join('\n') +
      '\n'
  )
  writeFileSync(
    plain,
    rows
      .map((i) =>
        JSON.stringify({
          messages: [
            { role: 'user', content: request(i) },
            { role: 'assistant', content: story(i) }
          ]
        })
      )
      .join('\n') + '\n'
  )
  return { pairs, plain }
}

describe('recipes, driven by Chromium', () => {
  const studio = new StudioUnderTest('recipes')
  const { api } = studio
  let page: Page
  const browserErrors: string[] = []

  beforeAll(async () => {
    await studio.start()
    await registerEmbeddedModel(studio.server)
    const files = writeStoryFiles(studio.storeDir)
    await api('datasets.import', { path: files.plain, datasetName: 'story requests', cutVersion: true })
    await api('datasets.import', { path: files.pairs, datasetName: 'story pairs', cutVersion: true })
    page = await studio.openStudioPage({ width: 1280, height: 900 }, browserErrors)
  })

  afterAll(() => studio.close())

  it('shows the recipes grouped, each with its paper, what it needs and its parameter form', async () => {
    await page.getByTestId('nav-recipes').click()
    await page.getByTestId('recipe-list').waitFor()
    const group = (name: string) => page.getByTestId(`recipe-group-${name}`)
    await group('sft').getByTestId('recipe-sft').waitFor()
    expect(await group('sft').getByTestId('recipe-dft').count()).toBe(1)

    const dpo = group('preference').getByTestId('recipe-dpo')
    const paper = await dpo.getByTestId('recipe-paper').textContent()
    expect(paper).toContain('Direct Preference Optimization')
    expect(paper).toContain('2023')
    expect(await dpo.getByTestId('recipe-paper-link').getAttribute('href')).toBe(
      'https://arxiv.org/abs/2305.18290'
    )
    expect(await dpo.getByTestId('recipe-needs-preference-data').textContent()).toBe('needs preference data')
    expect(await dpo.getByTestId('recipe-param-beta').inputValue()).toBe('0.1')
    expect(await dpo.getByTestId('recipe-param-loss_type').inputValue()).toBe('sigmoid')

    // RL has its first recipe: grpo, with a card of its own.
    expect(await group('rl').getByTestId('recipe-grpo').count()).toBe(1)
    await screenshotWhole(page, 'recipes-grouped.png')
  })

  it('carries the card’s parameters into the new-run form, and pre-flight refuses data without pairs', async () => {
    const dpo = page.getByTestId('recipe-dpo')
    await dpo.getByTestId('recipe-param-beta').fill('0.5')
    await dpo.getByTestId('recipe-param-loss_type').selectOption('hinge')
    await dpo.getByTestId('recipe-use-dpo').click()

    const form = page.getByTestId('new-run-form')
    await form.waitFor()
    expect(await form.getByTestId('new-run-recipe').inputValue()).toBe('dpo')
    expect(await form.getByTestId('recipe-param-beta').inputValue()).toBe('0.5')
    expect(await form.getByTestId('recipe-param-loss_type').inputValue()).toBe('hinge')
    await form.getByTestId('new-run-recipe-needs-preference-data').waitFor()
    await form.getByTestId('recipe-param-loss_type').selectOption('sigmoid')

    // The only registered model, after the "Choose a model" placeholder.
    await form.getByTestId('new-run-model').selectOption({ index: 1 })
    await form.getByTestId('new-run-dataset').selectOption({ label: 'story requests' })
    await expect.poll(() => form.getByTestId('new-run-version').inputValue()).not.toBe('')
    await form.getByTestId('new-run-preflight').click()
    const report = form.getByTestId('preflight-report')
    await report.waitFor({ timeout: SLOW_MS })
    expect(await report.getAttribute('data-ok')).toBe('false')
    expect(await report.getByTestId('preflight-errors').textContent()).toContain(
      'dpo needs preference data: this dataset version has no sample with a rejected response — ' +
        'import a preference dataset (chosen/rejected) or pick another recipe'
    )
    expect(await form.getByTestId('new-run-start').isDisabled()).toBe(true)
  })

  it('trains dpo on the imported preference pairs and shows the reward-margin chart', async () => {
    const form = page.getByTestId('new-run-form')
    await form.getByTestId('new-run-dataset').selectOption({ label: 'story pairs' })
    await expect.poll(() => form.getByTestId('new-run-version').inputValue()).not.toBe('')
    await startRunFromForm(form, { steps: 6, batchSize: 2, lr: 0.01 }, SLOW_MS)
    const detail = await completedRunDetail(page, SLOW_MS)
    const rewards = await recipeChartWith(detail, 'rewards', 'recipe/rewards/margins', 6, SLOW_MS)
    expect(await rewards.locator('h3').textContent()).toBe('Recipe: rewards')
    await screenshotWhole(page, 'recipes-dpo-run.png')
    expect(browserErrors).toEqual([])
  })
})

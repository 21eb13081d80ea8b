/**
 * The Rewards panel through the headless door: with grpo chosen in the new-run form, two reward
 * terms are composed from the reward list (one parameter edited in each generated form), the spec
 * shows as JSON, and "Test on 5 prompts" samples stories260K's completions of the first five story
 * requests and shows every completion's total and per-term values, with the means.
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

/** Long enough to compile the generation graph and sample ten completions on a busy machine. */
const SLOW_MS = 120_000

const NAMES = ['Tom', 'Lily', 'Max', 'Sue']

/** Story requests whose `name` column (kept as metadata) is who the story must be about. */
function writeStoryRequests(dir: string): string {
  const file = join(dir, 'story-requests.jsonl')
  const rows = Array.from({ length: 8 }, (_, i) => ({
    messages: [
      { role: 'user', content: `Tell me a story about ${NAMES[i % 4]}.` },
      { role: 'assistant', content: `Once upon a time, ${NAMES[i % 4]} found a red stone.` }
    ],
    name: NAMES[i % 4]
  }))
  writeFileSync(file, rows.map((row) => JSON.stringify(row)).join('\n') + '\n')
  return file
}

describe('the Rewards panel, driven by Chromium', () => {
  const studio = new StudioUnderTest('rewards')
  const { api } = studio
  let page: Page
  const browserErrors: string[] = []

  beforeAll(async () => {
    await studio.start()
    await registerEmbeddedModel(studio.server)
    const file = writeStoryRequests(studio.storeDir)
    await api('datasets.import', { path: file, datasetName: 'story requests', cutVersion: true })
    page = await studio.openStudioPage({ width: 1280, height: 900 }, browserErrors)
  })

  afterAll(() => studio.close())

  it('composes two reward terms, tests them on 5 prompts and shows each term’s value', async () => {
    await page.getByTestId('nav-runs').click()
    await page.getByTestId('new-run-button').click()
    const form = page.getByTestId('new-run-form')
    await form.waitFor()
    expect(await form.getByTestId('rewards-panel').count()).toBe(0)
    await form.getByTestId('new-run-recipe').selectOption('grpo')
    const panel = form.getByTestId('rewards-panel')
    await panel.waitFor()

    await form.getByTestId('new-run-model').selectOption({ index: 1 })
    await form.getByTestId('new-run-dataset').selectOption({ label: 'story requests' })
    await expect.poll(() => form.getByTestId('new-run-version').inputValue()).not.toBe('')

    await panel.getByTestId('rewards-add-choice').selectOption('contains_all')
    await panel.getByTestId('rewards-add').click()
    const mentions = panel.getByTestId('reward-term-0')
    await mentions.getByTestId('reward-term-weight').fill('2')
    await mentions.getByTestId('recipe-param-keys').fill('name')

    await panel.getByTestId('rewards-add-choice').selectOption('length_penalty')
    await panel.getByTestId('rewards-add').click()
    const length = panel.getByTestId('reward-term-1')
    await length.getByTestId('reward-term-weight').fill('0.5')
    await length.getByTestId('recipe-param-max_length').fill('12')
    await length.getByTestId('recipe-param-cache_length').fill('8')
    await panel.getByTestId('rewards-test-max-new-tokens').fill('16')

    await panel.locator('summary').click()
    expect(JSON.parse(await panel.getByTestId('rewards-spec-json').inputValue())).toEqual({
      terms: [
        { reward: 'contains_all', weight: 2, params: { keys: 'name' } },
        { reward: 'length_penalty', weight: 0.5, params: { max_length: 12, cache_length: 8 } }
      ]
    })

    const button = panel.getByTestId('rewards-test')
    expect(await button.textContent()).toContain('Test on 5 prompts')
    await button.click()
    const result = panel.getByTestId('reward-test-result')
    await result.waitFor({ timeout: SLOW_MS })
    expect(await panel.getByTestId('rewards-test-error').count()).toBe(0)

    for (let p = 0; p < 5; p++) {
      const prompt = result.getByTestId(`reward-test-prompt-${p}`)
      expect(await prompt.textContent()).toContain(`Tell me a story about ${NAMES[p % 4]}.`)
      const rows = prompt.getByTestId('reward-completion')
      expect(await rows.count()).toBe(2)
      for (let c = 0; c < 2; c++) {
        const row = rows.nth(c)
        const mentioned = Number(await row.getByTestId('reward-value-0').textContent())
        const penalty = Number(await row.getByTestId('reward-value-1').textContent())
        expect([0, 1]).toContain(mentioned)
        expect(penalty).toBeGreaterThanOrEqual(-1)
        expect(penalty).toBeLessThanOrEqual(0)
        // The reason shows on hover: length_penalty says what it counted.
        expect(await row.getByTestId('reward-value-1').getAttribute('title')).toMatch(/^\d+ tokens$/)
        const total = Number(await row.getByTestId('reward-total').textContent())
        expect(total).toBeCloseTo(2 * mentioned + 0.5 * penalty, 3)
      }
    }
    for (const id of ['reward-mean-total', 'reward-mean-0', 'reward-mean-1']) {
      expect(Number.isFinite(Number(await result.getByTestId(id).textContent()))).toBe(true)
    }
    await screenshotWhole(page, 'rewards-test.png')
    expect(browserErrors).toEqual([])
  })

  it('launches an SFT → grpo pipeline with the composed rewards and sees the grpo stage’s reward points arrive', async () => {
    const form = page.getByTestId('new-run-form')
    // Stage 2 trains grpo from stage 1's result; stage 1 becomes plain SFT. The spec stays: it is grpo's.
    await form.getByTestId('pipeline-add-stage').click()
    const stage = form.locator('[data-testid="pipeline-stage"][data-stage="2"]')
    expect(await stage.getByTestId('pipeline-stage-recipe').inputValue()).toBe('grpo')
    await form.getByTestId('new-run-recipe').selectOption('sft')
    expect(await form.getByTestId('rewards-panel').count()).toBe(1)
    await stage.getByTestId('recipe-param-max_completion_length').fill('16')
    await stage.getByTestId('pipeline-stage-steps').fill('3')
    await stage.getByTestId('pipeline-stage-overlap').fill('1')

    await startRunFromForm(form, { steps: 3, batchSize: 8, lr: 0.001 }, SLOW_MS)
    const detail = await completedRunDetail(page, SLOW_MS)
    const stages = detail.getByTestId('run-stage')
    expect(await stages.count()).toBe(2)
    expect(await stages.nth(0).textContent()).toContain('1 · sft')
    expect(await stages.nth(0).textContent()).toContain('steps 1–3')
    expect(await stages.nth(1).textContent()).toContain('2 · grpo')
    expect(await stages.nth(1).textContent()).toContain('steps 4–6')
    expect(await stages.nth(1).getAttribute('data-state')).toBe('done')
    const rewards = await recipeChartWith(detail, 'rewards', 'recipe/rewards/mean', 3, SLOW_MS)
    expect(await rewards.getAttribute('data-last-step')).toBe('6')

    // The rollout browser: the latest step's 2 prompts, each with its G = 4 scored completions.
    const rollouts = detail.getByTestId('run-rollouts')
    await rollouts.waitFor({ timeout: SLOW_MS })
    await expect.poll(() => rollouts.getByTestId('rollouts-step').inputValue()).toBe('6')
    await rollouts.getByTestId('rollouts-step').selectOption('4')
    const groups = rollouts.getByTestId('rollout-group')
    await expect.poll(() => groups.first().getByTestId('rollout-prompt').count()).toBe(1)
    expect(await groups.count()).toBe(2)
    for (let g = 0; g < 2; g++) {
      const group = groups.nth(g)
      expect(await group.getByTestId('rollout-prompt').textContent()).toContain('Tell me a story about')
      const numbers = async (id: string) =>
        (await group.getByTestId(id).allTextContents()).map((text) => Number(text.trim()))
      const [rewardValues, advantages] = [await numbers('rollout-reward'), await numbers('rollout-advantage')]
      expect(rewardValues).toHaveLength(4)
      for (const reward of rewardValues) expect(Number.isFinite(reward)).toBe(true)
      expect(advantages.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 2)
    }
    await screenshotWhole(page, 'rewards-grpo-run.png')
    expect(browserErrors).toEqual([])
  })
})

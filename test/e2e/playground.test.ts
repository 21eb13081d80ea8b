/**
 * The Playground through the headless door: the embedded model is registered, more new tokens
 * than its context holds are refused on the page, a prompt is generated greedily from the page,
 * and the text the page shows is the text the API generates for the same settings. Then side by
 * side: two models chat for two turns, each with its own settings and its own history, and the
 * chat is saved to the arena, where it waits for a blind vote that the leaderboard counts.
 */
import { cpSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GenerateMessage } from '../../src-preload/contract'
import {
  embeddedModelDir,
  finishedJob,
  registerEmbeddedModel,
  screenshotDir,
  screenshotWhole,
  StudioUnderTest
} from './harness'

/** Long enough to register a model or compile a generation graph on a busy machine. */
const SLOW_MS = 120_000

describe('the Playground, driven by Chromium', () => {
  const studio = new StudioUnderTest('playground', { ownBuild: true })
  const { api } = studio
  let page: Page
  let baseModelId: number
  const browserErrors: string[] = []

  beforeAll(async () => {
    await studio.start()
    ;({ id: baseModelId } = await registerEmbeddedModel(studio.server))
    page = await studio.openStudioPage({ width: 1280, height: 900 }, browserErrors)
  }, SLOW_MS * 2)

  afterAll(() => studio.close())

  it('generates greedily from the registered model and shows the streamed text', async () => {
    await page.getByTestId('nav-playground').click()
    const picker = page.getByTestId('playground-model')
    await picker.waitFor()
    expect(await picker.inputValue()).toBe(`base:${baseModelId}`)

    await page.getByTestId('playground-prompt').fill('Once upon a time')
    await page.getByTestId('playground-chat').uncheck()
    // stories260K reads 512 tokens, the prompt included: more is refused here, in words.
    const maxTokens = page.getByTestId('playground-max-tokens')
    expect(await maxTokens.getAttribute('max')).toBe('511')
    await maxTokens.fill('600')
    expect(await page.getByTestId('playground-max-tokens-problem').textContent()).toContain(
      'stories260K reads 512 tokens at once, the prompt included: ask for at most 511 new tokens'
    )
    expect(await page.getByTestId('playground-generate').isDisabled()).toBe(true)
    await page
      .locator('.playground-form')
      .screenshot({ path: join(screenshotDir, 'playground-too-many-tokens.png') })
    await maxTokens.fill('24')
    expect(await page.getByTestId('playground-max-tokens-problem').count()).toBe(0)
    await page.getByTestId('playground-temperature').fill('0')
    await page.getByTestId('playground-generate').click()

    await page.getByTestId('playground-finish').waitFor({ timeout: SLOW_MS })
    expect(await page.getByTestId('playground-finish').textContent()).toContain('24 tokens')
    const shown = (await page.getByTestId('playground-output').textContent()) ?? ''
    const expected = await api('models.generate', {
      baseModelId,
      prompt: 'Once upon a time',
      chat: false,
      maxNewTokens: 24,
      temperature: 0
    })
    expect(expected.text.length).toBeGreaterThan(20)
    expect(shown).toBe(expected.text)
    await page.getByTestId('playground-output-card').waitFor()
    await page.screenshot({ path: join(screenshotDir, 'playground.png') })
    expect(browserErrors).toEqual([])
  })

  it(
    'chats with two models side by side for two turns, and saves the chat to the arena for a blind vote',
    async () => {
      // The second contender: the same weights registered from another folder.
      const copyDir = join(studio.storeDir, 'stories260K-copy')
      cpSync(embeddedModelDir, copyDir, { recursive: true })
      const { jobId } = await api('models.register', { path: copyDir, name: 'stories260K copy' })
      expect((await finishedJob(studio.server, jobId)).status).toBe('completed')
      const copyId = (await api('models.list', {})).find((model) => model.name === 'stories260K copy')!.id

      await page.getByTestId('playground-mode-side-by-side').click()
      await page.getByTestId('sbs-target-left').selectOption(`base:${baseModelId}`)
      await page.getByTestId('sbs-target-right').selectOption(`base:${copyId}`)
      // Each side its own settings: the left greedy, the right sampled with a seed.
      await page.getByTestId('sbs-same-settings').uncheck()
      const sampling = {
        left: { maxNewTokens: 16, temperature: 0, seed: 0 },
        right: { maxNewTokens: 12, temperature: 0.9, seed: 3 }
      }
      for (const [side, settings] of Object.entries(sampling)) {
        await page.getByTestId(`sbs-${side}-max-tokens`).fill(String(settings.maxNewTokens))
        await page.getByTestId(`sbs-${side}-temperature`).fill(String(settings.temperature))
        await page.getByTestId(`sbs-${side}-seed`).fill(String(settings.seed))
      }

      const messages = ['Tell me a story about a cat.', 'What happened next?']
      const shown: Record<'left' | 'right', string[]> = { left: [], right: [] }
      for (const [index, message] of messages.entries()) {
        await page.getByTestId('sbs-message').fill(message)
        await page.getByTestId('sbs-send').click()
        const turn = page.getByTestId('sbs-turn').nth(index)
        for (const side of ['left', 'right'] as const) {
          const answer = turn.locator(`[data-testid="sbs-answer-${side}"][data-finished="true"]`)
          await answer.waitFor({ timeout: SLOW_MS })
          shown[side].push((await answer.getByTestId('sbs-answer-text').textContent()) ?? '')
        }
      }
      await screenshotWhole(page, 'playground-side-by-side.png')

      // Each side answered the second turn after its own first answer, as the API does.
      for (const side of ['left', 'right'] as const) {
        const history: GenerateMessage[] = [
          { role: 'user', content: messages[0] },
          { role: 'assistant', content: shown[side][0] },
          { role: 'user', content: messages[1] }
        ]
        const expected = await api('models.generate', {
          baseModelId: side === 'left' ? baseModelId : copyId,
          messages: history,
          ...sampling[side]
        })
        expect(shown[side][1]).toBe(expected.text)
      }
      expect(shown.left[0].length).toBeGreaterThan(0)

      await page.getByTestId('sbs-save-arena').click()
      await page.getByTestId('sbs-saved').waitFor()
      await page.getByTestId('sbs-saved-link').click()

      // Blind in the arena: the earlier turn above the prompt, the names hidden until the vote.
      const battle = page.locator('[data-testid="arena-battle"][data-voted="false"]')
      await battle.waitFor()
      expect(await page.getByTestId('arena-prompt-shown').textContent()).toBe(messages[1])
      expect(await page.getByTestId('arena-history-turn').count()).toBe(1)
      const outputs = [
        await page.getByTestId('arena-side-left').locator('.answer').textContent(),
        await page.getByTestId('arena-side-right').locator('.answer').textContent()
      ]
      expect(outputs.sort()).toEqual([shown.left[1], shown.right[1]].sort())
      expect(await page.getByTestId('arena-reveal-left').count()).toBe(0)
      await screenshotWhole(page, 'arena-from-playground.png')

      await page.getByTestId('arena-vote-left').click()
      await page.locator('[data-testid="arena-battle"][data-voted="true"]').waitFor()
      const revealed = [
        await page.getByTestId('arena-reveal-left').textContent(),
        await page.getByTestId('arena-reveal-right').textContent()
      ]
      expect(revealed.sort()).toEqual(['stories260K', 'stories260K copy'])
      await expect.poll(() => page.getByTestId('arena-standing').count(), { timeout: SLOW_MS }).toBe(2)
      expect(browserErrors).toEqual([])
    },
    SLOW_MS * 2
  )
})

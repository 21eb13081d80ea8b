/**
 * The evaluation room through the headless door, as a person would use it: the embedded model and
 * a short run's two checkpoints are evaluated on ARC-Easy and the story requests (5 documents
 * each) after reading their first prompts, a task file of one's own is uploaded and read, a second
 * launch reuses what is stored; the matrix, a cell's documents, the run's checkpoints over steps,
 * an item diff, a self-correction evaluation, blind arena votes, and the votes exported as a
 * preference dataset that Datasets opens.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  registerEmbeddedModel,
  screenshotDir,
  screenshotWhole,
  StudioUnderTest,
  trainedQuickRun
} from './harness'

/** Long enough to register a model, train ten steps or evaluate on a busy machine. */
const SLOW_MS = 120_000
/** How long a poll waits for what the server does (expect.poll's own default is a second). */
const SLOW = { timeout: SLOW_MS, interval: 100 }
const TASKS = ['arc_easy', 'story-requests']

/** Story requests in the messages format: what the run trains on and the arena draws prompts from. */
function writeStories(dir: string): string {
  const names = ['Tom', 'Lily', 'Max', 'Sue']
  const animals = ['cat', 'dog', 'fox', 'fish']
  const rows = Array.from({ length: 16 }, (_, i) => {
    const name = names[i % 4]
    const animal = animals[(i >> 2) % 4]
    return JSON.stringify({
      messages: [
        { role: 'user', content: `Tell me a story about ${name} the ${animal}.` },
        {
          role: 'assistant',
          content: `Once upon a time, there was a ${animal} named ${name}. ${name} was happy.`
        }
      ]
    })
  })
  const path = join(dir, 'stories.jsonl')
  writeFileSync(path, rows.join('\n') + '\n')
  return path
}

/** A user's own multiple-choice task: the task file names its data file beside it. */
function writeQuizTask(dir: string): string[] {
  const task = join(dir, 'quiz.yaml')
  const data = join(dir, 'quiz-test.jsonl')
  writeFileSync(
    task,
    [
      'task: my_quiz',
      'dataset_path: json',
      'dataset_kwargs:',
      '  data_files:',
      '    test: quiz-test.jsonl',
      'test_split: test',
      'output_type: multiple_choice',
      'doc_to_text: "Question: {{question}}\\nAnswer:"',
      'doc_to_choice: choices',
      'doc_to_target: answer',
      'metric_list:',
      '  - metric: acc',
      ''
    ].join('\n')
  )
  const rows = [
    { question: 'What does a cat say?', choices: ['meow', 'woof', 'moo'], answer: 0 },
    { question: 'What colour is the sky?', choices: ['green', 'blue'], answer: 1 },
    { question: 'How many legs has a dog?', choices: ['two', 'four', 'six'], answer: 1 },
    { question: 'What is ice made of?', choices: ['water', 'sand'], answer: 0 }
  ]
  writeFileSync(data, rows.map((row) => JSON.stringify(row)).join('\n') + '\n')
  return [task, data]
}

describe('the evaluation room, driven by Chromium', () => {
  const studio = new StudioUnderTest('evaluation', { ownBuild: true })
  const { api } = studio
  let page: Page
  const browserErrors: string[] = []
  let baseModelId = 0
  let datasetId = 0
  let runName = ''
  /** The run's checkpoints, by step. */
  const checkpoints = new Map<number, number>()

  /** Every row of a launch table has ended (a failure shows its error instead of a timeout). */
  async function waitForEvaluations(table: Locator, count: number): Promise<void> {
    const rows = table.getByTestId('evaluation-row')
    await expect.poll(() => rows.count(), SLOW).toBe(count)
    await expect
      .poll(async () => {
        const statuses = await rows.evaluateAll((all) => all.map((row) => row.getAttribute('data-status')))
        if (statuses.includes('failed')) throw new Error(`an evaluation failed: ${await table.textContent()}`)
        return statuses.every((status) => status === 'completed')
      }, SLOW)
      .toBe(true)
  }

  beforeAll(async () => {
    await studio.start()
    ;({ id: baseModelId } = await registerEmbeddedModel(studio.server))
    const imported = await api('datasets.import', {
      path: writeStories(studio.storeDir),
      datasetName: 'story requests',
      cutVersion: true
    })
    datasetId = imported.dataset.id
    // Ten quick LoRA steps with a checkpoint every five: two checkpoints to evaluate.
    const detail = await trainedQuickRun(studio.server, {
      baseModelId,
      datasetVersionId: imported.version!.id
    })
    runName = detail.name
    for (const checkpoint of detail.checkpoints) checkpoints.set(checkpoint.step, checkpoint.id)
    expect([...checkpoints.keys()]).toEqual([5, 10])

    page = await studio.openStudioPage({ width: 1360, height: 900 }, browserErrors)
  }, SLOW_MS * 2)

  afterAll(() => studio.close())

  it('shows the first prompts of each task chosen, with choices and targets', async () => {
    await page.getByTestId('nav-evaluate').click()
    await page.getByRole('heading', { level: 1, name: 'Evaluate' }).waitFor()
    await page.getByTestId(`eval-target-base-${baseModelId}`).check()
    for (const id of checkpoints.values()) await page.getByTestId(`eval-target-checkpoint-${id}`).check()

    await page.getByTestId('eval-task-arc_easy').check()
    const preview = page.getByTestId('eval-preview')
    await expect.poll(() => preview.getAttribute('data-task'), SLOW).toBe('arc_easy')
    const examples = preview.getByTestId('eval-preview-example')
    expect(await examples.count()).toBe(3)
    expect(await examples.first().locator('pre').textContent()).toMatch(/^Question: .+\nAnswer:$/s)
    // Each multiple-choice example marks its target among its choices.
    for (const example of await examples.all()) {
      expect(await example.locator('[data-testid="eval-choice"][data-target="true"]').count()).toBe(1)
    }
    await screenshotWhole(page, 'evaluate-preview-arc.png')

    await page.getByTestId('eval-task-story-requests').check()
    await expect.poll(() => preview.getAttribute('data-task'), SLOW).toBe('story-requests')
    expect(await examples.first().textContent()).toContain('Tell me a story about')
    expect(await examples.first().textContent()).toContain('Target')
  })

  it('uploads a task file of ones own with its data file, and reads it back as the model will see it', async () => {
    await page.getByTestId('eval-import-files').setInputFiles(writeQuizTask(studio.storeDir))
    const preview = page.getByTestId('eval-preview')
    await expect.poll(() => preview.getAttribute('data-task'), SLOW).toBe('my_quiz')
    const first = preview.getByTestId('eval-preview-example').first()
    expect(await first.locator('pre').textContent()).toBe('Question: What does a cat say?\nAnswer:')
    expect(await first.locator('[data-testid="eval-choice"][data-target="true"]').textContent()).toContain(
      'meow'
    )
    expect(await page.getByTestId('eval-import-error').count()).toBe(0)
    await screenshotWhole(page, 'evaluate-import.png')
    // Read and listed; this launch is about the two built-in tasks.
    await page.getByTestId('eval-task-my_quiz').uncheck()
  })

  it('evaluates the base model and both checkpoints on two tasks in one job, then reuses the stored results', async () => {
    await page.getByTestId('eval-limit').fill('5')
    const start = page.getByTestId('eval-start')
    expect(await start.textContent()).toContain('Evaluate (6 evaluations)')
    await start.click()
    const launch = page.getByTestId('eval-launch')
    await waitForEvaluations(launch.getByTestId('eval-launch-table'), 6)
    expect(await launch.getByTestId('eval-launch-summary').textContent()).toBe('6 evaluations run')
    expect(await launch.getByTestId('evaluation-reused').count()).toBe(0)
    // The progress bar goes with the job (whose end may be told after the last evaluation's).
    await expect.poll(() => launch.getByTestId('job-progress').count(), SLOW).toBe(0)
    await screenshotWhole(page, 'evaluate-done.png')

    // The same targets, tasks and settings again: nothing runs, every result is the stored one.
    await start.click()
    await expect.poll(() => launch.getByTestId('evaluation-reused').count(), SLOW).toBe(6)
    expect(await launch.getByTestId('eval-launch-summary').textContent()).toBe(
      '0 evaluations run, 6 reused from earlier (same task, data and settings)'
    )
    const stored = await api('evaluations.list', {})
    expect(stored).toHaveLength(6)
    await page.getByTestId('eval-launch').screenshot({ path: join(screenshotDir, 'evaluate-reused.png') })
  })

  it('shows checkpoints × tasks in the matrix with value ± stderr, and the run over steps', async () => {
    await page.getByTestId('eval-tab-matrix').click()
    const matrix = page.getByTestId('eval-matrix')
    await matrix.waitFor()
    const expected = await api('evaluations.matrix', {})
    expect(expected.cells).toHaveLength(6)
    expect(await matrix.getByTestId('eval-matrix-row').count()).toBe(3)
    for (const cell of expected.cells) {
      const shown = matrix.locator(
        `[data-testid="eval-matrix-cell"][data-row="${cell.row}"][data-task="${cell.task}"]`
      )
      // "0.4 ± 0.2449": the value and its standard error, to 4 significant digits.
      const [value, stderr] = ((await shown.textContent()) ?? '').split('±').map(Number)
      expect(value).toBeCloseTo(cell.value, 3)
      expect(stderr).toBeCloseTo(cell.stderr!, 3)
    }
    const charts = page.getByTestId('eval-run-series').getByTestId('eval-step-chart')
    await expect.poll(() => charts.count(), SLOW).toBe(2)
    for (const task of TASKS) {
      const chart = page
        .getByTestId('eval-run-series')
        .locator(`[data-testid="eval-step-chart"][data-task="${task}"]`)
      expect(await chart.getAttribute('data-point-count')).toBe('2')
    }
    await screenshotWhole(page, 'evaluate-matrix.png')
  })

  it("browses a cell's documents: choices with log-probs, the choice made and the target; only the wrong ones", async () => {
    const cell = page.locator(
      `[data-testid="eval-matrix-cell"][data-row="checkpoint:${checkpoints.get(10)}"][data-task="arc_easy"]`
    )
    await cell.click()
    const documents = page.getByTestId('eval-items')
    await expect.poll(() => documents.getByTestId('eval-item').count(), SLOW).toBe(5)
    const first = documents.getByTestId('eval-item').first()
    expect(await first.locator('[data-testid="eval-choice"][data-chosen="true"]').count()).toBe(1)
    expect(await first.locator('[data-testid="eval-choice"][data-target="true"]').count()).toBe(1)
    expect(await first.locator('.logprob').first().textContent()).toMatch(/-\d/)
    expect(await documents.getByTestId('eval-scores').textContent()).toContain('acc_norm')
    await screenshotWhole(page, 'evaluate-items.png')

    const wrong = (
      await api('evaluations.items', {
        id: Number(await documents.getAttribute('data-evaluation-id')),
        only: 'wrong'
      })
    ).total
    await documents.getByTestId('eval-items-filter-wrong').click()
    await expect.poll(() => documents.getByTestId('eval-item').count(), SLOW).toBe(wrong)
    const correctness = await documents
      .getByTestId('eval-item')
      .evaluateAll((items) => items.map((item) => item.getAttribute('data-correct')))
    expect(correctness.every((value) => value === 'false')).toBe(true)
  })

  it('opens an item diff of the checkpoint against the base model: the flipped documents, with both answers', async () => {
    const documents = page.getByTestId('eval-items')
    const base = (await api('evaluations.list', { task: 'arc_easy' })).find(
      (e) => e.baseModelId === baseModelId
    )!
    const checkpointEvaluation = Number(await documents.getAttribute('data-evaluation-id'))
    await documents.getByTestId('eval-items-compare-with').selectOption(String(base.id))
    await documents.getByTestId('eval-items-open-diff').click()
    await page.getByTestId('diff-change-improved').waitFor()
    // Read from the base model to the checkpoint, whichever was opened first.
    expect(Number(await page.getByTestId('diff-a').inputValue())).toBe(base.id)
    expect(Number(await page.getByTestId('diff-b').inputValue())).toBe(checkpointEvaluation)
    const expected = await api('evaluations.diff', { a: base.id, b: checkpointEvaluation })
    const counts = await Promise.all(
      ['improved', 'regressed', 'both_correct', 'both_wrong'].map(async (change) =>
        Number(await page.getByTestId(`diff-change-${change}`).getByTestId('diff-change-count').textContent())
      )
    )
    expect(counts).toEqual([
      expected.counts.improved,
      expected.counts.regressed,
      expected.counts.both_correct,
      expected.counts.both_wrong
    ])
    const items = page.getByTestId('diff-item')
    const flips = expected.counts.improved + expected.counts.regressed
    await expect.poll(() => items.count(), SLOW).toBe(flips)
    const changes = await items.evaluateAll((all) => all.map((item) => item.getAttribute('data-change')))
    expect(changes.every((change) => change === 'improved' || change === 'regressed')).toBe(true)
    await screenshotWhole(page, 'evaluate-diff-flips.png')

    // The story requests: generated answers side by side, whatever changed.
    const storyBase = (await api('evaluations.list', { task: 'story-requests' })).find(
      (e) => e.baseModelId === baseModelId
    )!
    await page.getByTestId('diff-a').selectOption(String(storyBase.id))
    await expect.poll(() => page.getByTestId('diff-b').inputValue(), SLOW).not.toBe('')
    for (const change of ['both_correct', 'both_wrong'])
      await page.getByTestId(`diff-change-${change}`).click()
    await expect.poll(() => items.count(), SLOW).toBe(5)
    const pair = items.first()
    expect(await pair.getByTestId('diff-side-a').getByTestId('eval-answer-output').textContent()).not.toBe('')
    expect(await pair.getByTestId('diff-side-b').getByTestId('eval-answer-output').textContent()).not.toBe('')
    await screenshotWhole(page, 'evaluate-diff.png')
  })

  it('evaluates with self-correction and shows the decomposition and each document’s transition', async () => {
    await page.getByTestId('eval-tab-evaluate').click()
    for (const id of checkpoints.values()) await page.getByTestId(`eval-target-checkpoint-${id}`).uncheck()
    await page.getByTestId('eval-task-arc_easy').uncheck()
    await page.getByTestId('eval-limit').fill('3')
    await page.getByTestId('eval-self-correction').check()
    expect(await page.getByTestId('eval-review-prompt').inputValue()).toBe(
      'Review your previous answer and correct it if needed.'
    )
    await page.getByTestId('eval-start').click()
    const table = page.getByTestId('eval-launch-table')
    await waitForEvaluations(table, 1)
    await table.getByTestId('evaluation-row').getByRole('button').click()
    const documents = page.getByTestId('eval-items')
    await expect.poll(() => documents.getByTestId('eval-item').count(), SLOW).toBe(3)
    const metrics = await documents
      .getByTestId('eval-scores')
      .locator('[data-metric]')
      .evaluateAll((all) => all.map((entry) => entry.getAttribute('data-metric')))
    expect(metrics.slice(0, 5)).toEqual(['acc_before', 'acc_after', 'confidence', 'critique', 'rss'])
    expect(await documents.getByTestId('eval-item-transition').count()).toBe(3)
    expect(await documents.getByTestId('eval-item').first().getByTestId('eval-answer').count()).toBe(2)
    await screenshotWhole(page, 'evaluate-self-correction.png')
  })

  it('shows a long evaluation going with its progress and time left, and cancels it', async () => {
    await page.getByTestId('eval-items-close').click()
    await page.getByTestId('eval-self-correction').uncheck()
    await page.getByTestId('eval-limit').fill('')
    await page.getByTestId('eval-task-story-requests').uncheck()
    await page.getByTestId('eval-task-arc_challenge').check()
    await page.getByTestId('eval-start').click()
    const progress = page.getByTestId('eval-launch').getByTestId('job-progress')
    // All 1,170 questions: long enough to be seen going, and stopped.
    await expect
      .poll(() => progress.textContent(), SLOW)
      .toMatch(/Evaluating \(about .+ left\) — arc_challenge: \d+\/1170 documents/)
    await screenshotWhole(page, 'evaluate-progress.png')
    await progress.getByTestId('job-cancel').click()
    const row = page.getByTestId('eval-launch-table').getByTestId('evaluation-row')
    await expect.poll(() => row.getAttribute('data-status'), SLOW).toBe('interrupted')
    await expect.poll(() => progress.count(), SLOW).toBe(0)
  })

  it('votes blind in the arena: names show after the vote, and the leaderboard ranks both', async () => {
    await page.getByTestId('eval-tab-arena').click()
    const checkpointKey = `checkpoint:${checkpoints.get(10)}`
    await page.getByTestId('arena-a').selectOption(`base:${baseModelId}`)
    await page.getByTestId('arena-b').selectOption(checkpointKey)
    await page.getByTestId('arena-prompt').fill('Tell me a story about Tom the fox.')
    await page.getByTestId('arena-max-tokens').fill('32')
    await page.getByTestId('arena-start').click()
    const battle = page.locator('[data-testid="arena-battle"][data-voted="false"]')
    await battle.waitFor({ timeout: SLOW_MS })
    expect(await page.getByTestId('arena-reveal-left').count()).toBe(0)
    expect(await page.getByTestId('arena-reveal-right').count()).toBe(0)
    await screenshotWhole(page, 'arena-blind.png')

    await page.getByTestId('arena-vote-left').click()
    await page.locator('[data-testid="arena-battle"][data-voted="true"]').waitFor()
    const names = [
      await page.getByTestId('arena-reveal-left').textContent(),
      await page.getByTestId('arena-reveal-right').textContent()
    ]
    expect(names.sort()).toEqual([`${runName} @ step 10`, 'stories260K'].sort())
    await expect.poll(() => page.getByTestId('arena-standing').count(), SLOW).toBe(2)

    // A second battle on a prompt drawn from the dataset the run trained on.
    await page.getByTestId('arena-source-dataset').check()
    await page.getByTestId('arena-dataset').selectOption(String(datasetId))
    await expect.poll(() => page.getByTestId('arena-version').inputValue(), SLOW).not.toBe('')
    await page.getByTestId('arena-start').click()
    await battle.waitFor({ timeout: SLOW_MS })
    expect(await battle.locator('pre').first().textContent()).toMatch(/^Tell me a story about \w+ the \w+\.$/)
    await page.getByTestId('arena-vote-right').click()
    await page.locator('[data-testid="arena-battle"][data-voted="true"]').waitFor()
    await expect
      .poll(async () => (await api('arena.leaderboard', {})).map((standing) => standing.battles), SLOW)
      .toEqual([2, 2])
    const board = page.getByTestId('arena-leaderboard')
    expect(await board.textContent()).toContain('stories260K')
    await screenshotWhole(page, 'arena-voted.png')
  })

  it('exports the votes as a preference dataset and opens it in Datasets', async () => {
    await page.getByTestId('arena-export-name').fill('arena votes (e2e)')
    await page.getByTestId('arena-export').click()
    const result = page.getByTestId('arena-export-result')
    await result.waitFor()
    expect(await result.textContent()).toContain('2 preference pairs in “arena votes (e2e)”')
    await page.getByTestId('arena-export-link').click()
    await expect.poll(() => page.getByTestId('dataset-name').textContent(), SLOW).toBe('arena votes (e2e)')
    expect(page.url()).toContain('#/datasets?dataset=')
    expect(await page.getByTestId('dataset-sample-count').textContent()).toBe('2')
    await screenshotWhole(page, 'arena-exported-dataset.png')
  })

  it('logged no browser errors along the way', () => {
    expect(browserErrors).toEqual([])
  })
})

/**
 * Evaluations through the API on the embedded stories260K: tasks in the lm-eval format, the job
 * that runs them, reuse, the matrix and the diff, self-correction, and the arena.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { EvaluationStatus, Events } from '../../src-preload/contract'
import { tempDir } from '../helpers/temp'
import { quickRun, until, useTrainingStore } from './run-fixtures'

describe('evaluations API', () => {
  const fixture = useTrainingStore()
  let baseModelId: number
  let checkpointId: number
  const statuses: Events['evaluation.status'][] = []

  async function evaluate(input: object) {
    const started = await fixture.api.call('evaluations.start', input)
    if (started.jobId) await fixture.api.jobs.wait(started.jobId)
    return {
      ...started,
      evaluations: started.evaluations.map((e) => fixture.api.store.evaluations.get(e.id)!)
    }
  }

  beforeAll(async () => {
    fixture.api.events.subscribe((event, payload) => {
      if (event === 'evaluation.status') statuses.push(payload as Events['evaluation.status'])
    })
    baseModelId = fixture.inputs.baseModelId
    const run = await fixture.api.call(
      'runs.start',
      quickRun(fixture.inputs, { maxSteps: 10, saveEvery: 10 })
    )
    expect((await fixture.api.runs.waitForRun(run.id)).status).toBe('completed')
    checkpointId = fixture.api.store.runs.get(run.id)!.checkpoints.at(-1)!.id
  }, 120_000)

  it('lists the built-in suite', async () => {
    const tasks = await fixture.api.call('evaluations.tasks', {})
    expect(tasks.map((t) => t.name)).toEqual(
      expect.arrayContaining(['arc_easy', 'arc_challenge', 'gsm8k', 'math500', 'mmlu', 'story-requests'])
    )
    const mmlu = tasks.find((t) => t.name === 'mmlu')!
    expect(mmlu).toMatchObject({ kind: 'group', outputType: 'multiple_choice', size: 14042 })
    expect(mmlu.tasks).toHaveLength(57)
  })

  it('renders the first three documents of a task before it runs', async () => {
    const preview = await fixture.api.call('evaluations.inspectTask', { task: 'arc_easy' })
    expect(preview.examples).toHaveLength(3)
    expect(preview.examples[0].prompt).toMatch(/^Question: .*\nAnswer:$/s)
    expect(preview.examples[0].choices!.length).toBeGreaterThanOrEqual(3)
    expect(preview.examples[0].choices).toContain(preview.examples[0].target)
  })

  it('evaluates base and checkpoint on two tasks in one job, stores every item, reuses on a second start', async () => {
    statuses.length = 0
    const first = await evaluate({
      targets: [{ baseModelId }, { checkpointId }],
      tasks: ['arc_easy', 'story-requests'],
      settings: { limit: 4, applyChatTemplate: true }
    })
    expect(first.reused).toEqual([])
    expect(first.evaluations.map((e) => [e.task, e.status, e.itemCount])).toEqual([
      ['arc_easy', 'completed', 4],
      ['story-requests', 'completed', 4],
      ['arc_easy', 'completed', 4],
      ['story-requests', 'completed', 4]
    ])
    const [arc] = first.evaluations
    expect(arc.primaryMetric).toBe('acc,none')
    expect(Object.keys(arc.scores)).toEqual(['acc,none', 'acc_norm,none'])
    expect(arc.scores['acc,none'].stderr).not.toBeNull()
    expect(first.evaluations[2]).toMatchObject({ checkpointId, step: 10 })
    const seen = (id: number): EvaluationStatus[] =>
      statuses.filter((s) => s.evaluationId === id).map((s) => s.status)
    expect(seen(arc.id)).toEqual(['running', 'completed'])

    const items = await fixture.api.call('evaluations.items', { id: arc.id })
    expect(items.total).toBe(4)
    for (const item of items.items) {
      expect(item.logprobs).toHaveLength(item.choices!.length)
      const argmax = item.logprobs!.indexOf(Math.max(...item.logprobs!))
      expect(item.answer.prediction).toBe(argmax)
      expect(item.answer.correct).toBe(item.choices![argmax] === item.target)
    }
    const story = await fixture.api.call('evaluations.items', { id: first.evaluations[1].id, limit: 1 })
    expect(story.items[0].answer.output).toEqual(expect.any(String))
    expect(story.items[0].prompt).toContain('Tell me a story') // rendered with the chat template

    const again = await evaluate({
      targets: [{ baseModelId }],
      tasks: ['arc_easy'],
      settings: { limit: 4, applyChatTemplate: true }
    })
    expect(again.jobId).toBeNull()
    expect(again.reused).toEqual([arc.id])
    const rerun = await evaluate({
      targets: [{ baseModelId }],
      tasks: ['arc_easy'],
      settings: { limit: 4, applyChatTemplate: true },
      rerun: true
    })
    expect(rerun.evaluations[0].id).not.toBe(arc.id)
    expect(rerun.evaluations[0].scores).toEqual(arc.scores) // greedy scoring is deterministic
  }, 180_000)

  it('draws the matrix of targets × tasks and diffs two evaluations of one task', async () => {
    const matrix = await fixture.api.call('evaluations.matrix', {})
    expect(matrix.tasks.map((t) => t.task)).toEqual(['arc_easy', 'story-requests'])
    expect(matrix.rows.map((r) => r.key)).toEqual([`base:${baseModelId}`, `checkpoint:${checkpointId}`])
    expect(matrix.cells).toHaveLength(4)

    const story = fixture.api.store.evaluations.list({ task: 'story-requests' })
    const [tuned, base] = [
      story.find((e) => e.checkpointId !== null)!,
      story.find((e) => e.baseModelId !== null)!
    ]
    const diff = await fixture.api.call('evaluations.diff', {
      a: base.id,
      b: tuned.id,
      only: ['improved', 'regressed', 'both_correct', 'both_wrong']
    })
    expect(diff.total).toBe(4)
    expect(Object.values(diff.counts).reduce((a, b) => a + b, 0)).toBe(4)
    expect(diff.items[0].a.output).not.toBeNull()

    const arc = fixture.api.store.evaluations.list({ task: 'arc_easy' })[0]
    await expect(fixture.api.call('evaluations.diff', { a: base.id, b: arc.id })).rejects.toThrow(
      /not of the same task/
    )
  })

  it('reviews its answers when asked (self-correction) and reports the decomposition', async () => {
    const { evaluations } = await evaluate({
      targets: [{ checkpointId }],
      tasks: ['story-requests'],
      settings: { limit: 3, applyChatTemplate: true, selfCorrection: {} }
    })
    const [evaluation] = evaluations
    expect(evaluation).toMatchObject({ kind: 'self_correction', status: 'completed' })
    // Confidence and critique are there when some first answers were right and some wrong.
    const keys = Object.keys(evaluation.scores)
    expect(keys).toEqual(expect.arrayContaining(['mentions_all,none', 'acc_before', 'acc_after']))
    expect(keys.some((k) => k === 'confidence' || k === 'critique')).toBe(true)
    const { items } = await fixture.api.call('evaluations.items', { id: evaluation.id })
    expect(items[0].review).toMatchObject({ output: expect.any(String) })
    expect(items[0].review!.output).not.toBe(items[0].answer.output)
    await expect(
      fixture.api.call('evaluations.start', {
        targets: [{ baseModelId }],
        tasks: ['arc_easy'],
        settings: { selfCorrection: {} }
      })
    ).rejects.toThrow(/self-correction reviews generated answers; task arc_easy is multiple_choice/)
  }, 120_000)

  it('scores log-likelihood and rolling tasks from a user task file', async () => {
    const dir = tempDir()
    writeFileSync(
      join(dir.dir, 'stories.jsonl'),
      ['Lily went to the park.', 'Tom had a big red ball.'].map((text) => JSON.stringify({ text })).join('\n')
    )
    writeFileSync(
      join(dir.dir, 'rolling.yaml'),
      [
        'task: tiny_stories_ppl',
        'dataset_path: json',
        'dataset_kwargs:',
        '  data_files:',
        '    test: stories.jsonl',
        'test_split: test',
        'output_type: loglikelihood_rolling',
        'doc_to_text: ""',
        'doc_to_target: "{{text}}"',
        'metric_list:',
        '  - metric: word_perplexity',
        '  - metric: bits_per_byte'
      ].join('\n')
    )
    const { evaluations } = await evaluate({
      targets: [{ baseModelId }],
      tasks: [join(dir.dir, 'rolling.yaml')],
      settings: {}
    })
    expect(evaluations[0].status).toBe('completed')
    const { value: wordPerplexity } = evaluations[0].scores['word_perplexity,none']
    expect(wordPerplexity).toBeGreaterThan(1)
    expect(wordPerplexity).toBeLessThan(1000) // a story model finds stories likely
    dir.cleanup()
  }, 60_000)

  it('marks an evaluation interrupted when its job is cancelled, keeping what finished before', async () => {
    const started = await fixture.api.call('evaluations.start', {
      targets: [{ baseModelId }],
      tasks: ['story-requests', 'mmlu'], // mmlu: 57 subjects, long enough to be cancelled while it runs
      settings: { limit: 2 },
      rerun: true
    })
    const [story, mmlu] = started.evaluations
    await until(
      () => fixture.api.store.evaluations.get(story.id)!.status,
      (status) => status === 'completed',
      'the first evaluation to complete'
    )
    fixture.api.jobs.cancel(started.jobId!)
    await fixture.api.jobs.wait(started.jobId!)
    expect(fixture.api.store.evaluations.get(story.id)!.status).toBe('completed')
    expect(fixture.api.store.evaluations.get(mmlu.id)).toMatchObject({
      status: 'interrupted',
      error: 'cancelled'
    })
  }, 60_000)

  it('refuses an unknown task, naming it, and creates nothing', async () => {
    const before = fixture.api.store.evaluations.list().length
    await expect(
      fixture.api.call('evaluations.start', { targets: [{ baseModelId }], tasks: ['no-such-task'] })
    ).rejects.toThrow(/"no-such-task" is neither a built-in task nor an existing file/)
    expect(fixture.api.store.evaluations.list()).toHaveLength(before)
  })

  it('holds blind battles in the arena, rates them and exports the decided ones for DPO', async () => {
    const battle = await fixture.api.call('arena.start', {
      a: { baseModelId },
      b: { checkpointId },
      prompt: 'Tell me a story about Lily the fish.',
      maxNewTokens: 16,
      seed: 1
    })
    expect(battle.left.label).toBeNull()
    expect(battle.right.label).toBeNull()
    const voted = await fixture.api.call('arena.vote', { id: battle.id, vote: 'right' })
    expect([voted.left.label, voted.right.label].sort()).toEqual(
      [fixture.api.store.models.get(baseModelId)!.name, expect.stringMatching(/@ step 10$/)].sort()
    )
    const tie = await fixture.api.call('arena.start', {
      a: { baseModelId },
      b: { checkpointId },
      prompt: 'Tell me a story about Tom the fox.',
      maxNewTokens: 8
    })
    await fixture.api.call('arena.vote', { id: tie.id, vote: 'tie' })

    const board = await fixture.api.call('arena.leaderboard', {})
    expect(board).toHaveLength(2)
    const winner = board[0]
    expect(winner.label).toBe(voted.right.label)
    expect(winner).toMatchObject({ battles: 2, wins: 1, ties: 1, winRate: 0.75 })
    expect(winner.rating).toBeGreaterThan(board[1].rating)

    const exported = await fixture.api.call('arena.export', { name: 'arena votes' })
    expect(exported).toMatchObject({ pairs: 1, skipped: 1 })
    const [sample] = fixture.api.store.datasets.versionSamples(exported.versionId)
    expect(sample.conversation.messages[0]).toEqual({
      role: 'user',
      content: 'Tell me a story about Lily the fish.'
    })
    expect(sample.conversation.messages[1].content).toBe(voted.right.output)
    expect(sample.conversation.rejected![0].content).toBe(voted.left.output)
  }, 120_000)
})

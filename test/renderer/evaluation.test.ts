/**
 * The evaluation room's logic without a DOM: how scores and changes are worded and shaded, how a
 * picked task file is prepared for upload, and the stores of the Evaluate, Matrix, Item diff and
 * Arena tabs talking to a scripted preload bridge.
 */
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type {
  ArenaBattle,
  ArenaStanding,
  EvalItemPage,
  EvalMatrix,
  EvalTaskInfo,
  EvalTaskPreview,
  EvaluationDiff
} from '../../src-preload/contract'
import {
  answerChange,
  columnStanding,
  diffOrder,
  evalMetricLabel,
  formatScore,
  headlineScore,
  standingShade,
  targetChoiceIndex
} from '../../src-renderer/src/components/evaluate/evalFormat'
import { planTaskUpload } from '../../src-renderer/src/components/evaluate/taskUpload'
import { useArenaStore } from '../../src-renderer/src/stores/arena'
import { useEvalDiffStore } from '../../src-renderer/src/stores/evalDiff'
import { useEvalItemsStore } from '../../src-renderer/src/stores/evalItems'
import {
  buildEvalSettings,
  defaultEvalDraft,
  remainingSeconds,
  useEvalLaunchStore
} from '../../src-renderer/src/stores/evalLaunch'
import { useEvalMatrixStore } from '../../src-renderer/src/stores/evalMatrix'
import { useEvaluationsStore } from '../../src-renderer/src/stores/evaluations'
import { useTargetsStore } from '../../src-renderer/src/stores/targets'
import { useJobsStore } from '../../src-renderer/src/stores/jobs'
import { useToastStore } from '../../src-renderer/src/stores/toasts'
import {
  datasetSummary,
  datasetVersion,
  evalTaskInfo,
  evaluationDetail,
  evaluationSummary,
  jobSummary,
  modelListing,
  runWithCheckpoints
} from './replies'
import { installScriptedBridge, ok, settle } from './scripted-bridge'

const bridge = installScriptedBridge()

const RUN_CHECKPOINTS = runWithCheckpoints(
  1,
  [
    { id: 11, step: 5 },
    { id: 12, step: 10 }
  ],
  { runName: 'sft-lora' }
)

const ARC = evalTaskInfo('arc_easy', 'multiple_choice')
const GSM8K = evalTaskInfo('gsm8k', 'generate_until', { numFewshot: 5 })

function preview(info: EvalTaskInfo): EvalTaskPreview {
  return {
    ...info,
    hash: 'f'.repeat(64),
    examples: [
      { index: 0, task: info.name, prompt: 'Question: ?\nAnswer:', choices: ['a', 'b'], target: 'b' }
    ]
  }
}

const answer = (correct: boolean | null) => ({ output: null, prediction: null, correct })

describe('how the evaluation room words and shades results', () => {
  it('names lm-eval metric keys as a reader says them', () => {
    expect(evalMetricLabel('acc,none')).toBe('acc')
    expect(evalMetricLabel('exact_match,strict-match')).toBe('exact_match (strict-match)')
    expect(evalMetricLabel('rss')).toBe('rss')
  })

  it('writes value ± stderr, and says n/a for a share over no documents (sent as null)', () => {
    expect(formatScore({ value: 0.4, stderr: 0.24494897 })).toBe('0.4 ± 0.2449')
    expect(formatScore({ value: 12.5, stderr: null })).toBe('12.5')
    expect(formatScore({ value: null as unknown as number, stderr: null })).toBe('n/a')
    expect(formatScore(undefined)).toBe('n/a')
  })

  it('heads a self-correction evaluation with its accuracy before and after the review', () => {
    const scored = evaluationSummary(1, {
      kind: 'self_correction',
      primaryMetric: 'exact_match,strict-match',
      scores: {
        'exact_match,strict-match': { value: 0.5, stderr: 0.1, higherIsBetter: true },
        acc_before: { value: 0.5, stderr: 0.1, higherIsBetter: true },
        acc_after: { value: 0.6, stderr: 0.1, higherIsBetter: true }
      }
    })
    expect(headlineScore(scored)).toBe('accuracy 0.5 ± 0.1 → 0.6 ± 0.1')
    expect(headlineScore({ ...scored, kind: 'task' })).toBe('exact_match (strict-match) 0.5 ± 0.1')
    expect(headlineScore(evaluationSummary(2))).toBe('—')
  })

  it("places each cell between its column's worst and best, following the metric's direction", () => {
    expect(columnStanding([0.25, 0.75, null, 0.5], true)).toEqual([0, 1, null, 0.5])
    // Perplexity: lower is better.
    expect(columnStanding([10, 30], false)).toEqual([1, 0])
    // Nothing to tell apart: no shade.
    expect(columnStanding([0.5, 0.5], true)).toEqual([null, null])
    expect(columnStanding([0.5], true)).toEqual([null])
    expect(standingShade(null)).toBeUndefined()
    expect(standingShade(0)).toBe('hsl(0, 62%, 88%)')
    expect(standingShade(1)).toBe('hsl(130, 62%, 88%)')
  })

  it('reads an item diff from the base model to a checkpoint, and from an earlier checkpoint to a later one', () => {
    const base = evaluationSummary(9)
    const early = evaluationSummary(3, { step: 5, baseModelId: null, checkpointId: 11 })
    const late = evaluationSummary(2, { step: 10, baseModelId: null, checkpointId: 12 })
    expect(diffOrder(late, base)).toEqual([9, 2])
    expect(diffOrder(early, late)).toEqual([3, 2])
    expect(diffOrder(late, early)).toEqual([3, 2])
    // Two of the same kind: the older evaluation first.
    expect(diffOrder(evaluationSummary(8), evaluationSummary(7))).toEqual([7, 8])
  })

  it('tells how an answer changed, and finds the target among the choices by text or index', () => {
    expect(answerChange(answer(false), answer(true))).toBe('improved')
    expect(answerChange(answer(true), answer(false))).toBe('regressed')
    expect(answerChange(answer(true), answer(true))).toBe('both_correct')
    expect(answerChange(answer(false), answer(false))).toBe('both_wrong')
    expect(answerChange(answer(null), answer(true))).toBeNull()
    expect(targetChoiceIndex(['red', 'blue'], 'blue')).toBe(1)
    expect(targetChoiceIndex(['red', 'blue'], '0')).toBe(0)
    expect(targetChoiceIndex(['red', 'blue'], '7')).toBeNull()
    expect(targetChoiceIndex(['red', 'blue'], 'green')).toBeNull()
  })
})

describe('a task file picked in the browser, prepared for upload', () => {
  const TASK_YAML = [
    'task: my_quiz',
    'dataset_path: json',
    'dataset_kwargs:',
    '  data_files:',
    '    test: data/quiz-test.jsonl # the questions',
    '    train: quiz-train.jsonl',
    'output_type: multiple_choice',
    'doc_to_text: "{{question}}"',
    ''
  ].join('\n')
  const file = (name: string, text: string) => new File([text], name)

  it('finds the task file among its data files and points data_files at their uploaded copies', async () => {
    const test = file('quiz-test.jsonl', '{"question": "?"}\n')
    const train = file('quiz-train.jsonl', '{"question": "!"}\n')
    const task = file('quiz.yaml', TASK_YAML)
    const upload = await planTaskUpload([test, task, train])
    expect(upload.taskFile).toBe(task)
    expect(upload.dataFiles).toEqual([
      { split: 'test', file: test },
      { split: 'train', file: train }
    ])
    const text = upload.pointedAt(
      new Map([
        [test, '/store/uploads/1a2b-quiz-test.jsonl'],
        [train, '/store/uploads/3c4d-quiz-train.jsonl']
      ])
    )
    expect(text).toContain('test: /store/uploads/1a2b-quiz-test.jsonl # the questions')
    expect(text).toContain('train: /store/uploads/3c4d-quiz-train.jsonl')
    expect(text).toContain('doc_to_text: "{{question}}"')
  })

  it('takes a JSON task file with a single data path, and leaves an absolute path alone', async () => {
    const json = JSON.stringify({
      task: 't',
      dataset_path: 'json',
      dataset_kwargs: { data_files: 'rows.json' }
    })
    const rows = file('rows.json', '[{"q": 1}]')
    const upload = await planTaskUpload([rows, file('t.json', json)])
    expect(JSON.parse(upload.pointedAt(new Map([[rows, '/up/rows.json']])))).toMatchObject({
      dataset_kwargs: { data_files: '/up/rows.json' }
    })

    const onServer = TASK_YAML.replace('data/quiz-test.jsonl', '/srv/quiz-test.jsonl')
    const train = file('quiz-train.jsonl', '{}')
    const kept = await planTaskUpload([file('quiz.yaml', onServer), train])
    expect(kept.dataFiles).toEqual([{ split: 'train', file: train }])
    expect(kept.pointedAt(new Map([[train, '/up/t.jsonl']]))).toContain('test: /srv/quiz-test.jsonl')
  })

  it('says which data file is missing, under which key', async () => {
    await expect(
      planTaskUpload([file('quiz.yaml', TASK_YAML), file('quiz-train.jsonl', '{}')])
    ).rejects.toThrow(
      'quiz.yaml names data/quiz-test.jsonl (dataset_kwargs.data_files.test): choose the data files together with the task file'
    )
  })

  it('refuses no task file, two task files, and task files that name other task files', async () => {
    await expect(planTaskUpload([file('rows.jsonl', '{}')])).rejects.toThrow(
      'none of rows.jsonl is a task file (YAML or JSON with a "task" key)'
    )
    await expect(planTaskUpload([file('a.yaml', 'task: a'), file('b.yml', 'task: b')])).rejects.toThrow(
      'choose one task file at a time: a.yaml and b.yml are task files'
    )
    await expect(planTaskUpload([file('g.yaml', 'group: g\ntask: [a, b]')])).rejects.toThrow(
      'g.yaml has "group": it names other task files by path'
    )
    await expect(planTaskUpload([file('i.yaml', 'include: base.yaml\ntask: i')])).rejects.toThrow(
      'i.yaml has "include"'
    )
  })
})

describe('the Evaluate tab', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    bridge.reset()
    bridge.handle('models.list', () => ok([modelListing()]))
    bridge.handle('runs.checkpoints', () => ok([RUN_CHECKPOINTS]))
    bridge.handle('evaluations.tasks', () => ok([ARC, GSM8K]))
    bridge.handle('evaluations.inspectTask', (input) => ok(preview(input.task === 'gsm8k' ? GSM8K : ARC)))
  })
  afterEach(() => vi.useRealTimers())

  it('turns the settings fields into evaluations.start settings, or says what is wrong with them', () => {
    const draft = defaultEvalDraft()
    expect(buildEvalSettings(draft)).toEqual({
      settings: {
        limit: null,
        numFewshot: null,
        applyChatTemplate: false,
        systemInstruction: null,
        seed: 1234,
        batchSize: null,
        selfCorrection: null,
        device: 'cpu'
      }
    })
    expect(
      buildEvalSettings({
        ...draft,
        limit: 5,
        numFewshot: 0,
        selfCorrection: true,
        systemInstruction: 'Be brief.'
      })
    ).toMatchObject({
      settings: {
        limit: 5,
        numFewshot: 0,
        systemInstruction: 'Be brief.',
        selfCorrection: { reviewPrompt: 'Review your previous answer and correct it if needed.' }
      }
    })
    expect(buildEvalSettings({ ...draft, limit: 0 })).toEqual({
      problem: 'Limit: a whole number of documents, 1 or more (empty: all).'
    })
    expect(buildEvalSettings({ ...draft, numFewshot: 65 })).toEqual({
      problem: "Few-shot examples: a whole number from 0 to 64 (empty: the task's own)."
    })
    expect(buildEvalSettings({ ...draft, selfCorrection: true, reviewPrompt: '  ' })).toEqual({
      problem: 'Self-correction needs a review prompt.'
    })
  })

  it('shows the prompts of a task as soon as it is chosen, with the chosen checkpoint’s chat template', async () => {
    await useTargetsStore().load()
    const store = useEvalLaunchStore()
    await store.load()
    store.toggleTarget('checkpoint:12')
    store.toggleTask('gsm8k')
    await settle()
    expect(store.previewTask).toBe('gsm8k')
    expect(store.preview?.name).toBe('gsm8k')
    expect(bridge.callsOf('evaluations.inspectTask').at(-1)).toEqual({
      task: 'gsm8k',
      applyChatTemplate: false
    })

    // The checkpoint's run trains base model 3: its template renders the prompts.
    store.draft.applyChatTemplate = true
    store.draft.numFewshot = 2
    await settle()
    expect(bridge.callsOf('evaluations.inspectTask').at(-1)).toEqual({
      task: 'gsm8k',
      numFewshot: 2,
      applyChatTemplate: true,
      baseModelId: 3
    })

    // Taking the task out shows the one still chosen.
    store.toggleTask('arc_easy')
    store.toggleTask('arc_easy')
    expect(store.previewTask).toBe('gsm8k')
  })

  it('says what keeps it from starting, self-correction on a multiple-choice task included', async () => {
    const store = useEvalLaunchStore()
    await store.load()
    expect(store.problem).toBe('Choose a model or checkpoint to evaluate.')
    store.toggleTarget('base:3')
    expect(store.problem).toBe('Choose a task.')
    store.toggleTask('arc_easy')
    store.toggleTask('gsm8k')
    store.draft.selfCorrection = true
    expect(store.problem).toBe(
      'Self-correction reviews generated answers; arc_easy (multiple_choice) generates none: choose generation tasks only.'
    )
    expect(store.canStart).toBe(false)
    store.toggleTask('arc_easy')
    expect(store.problem).toBeNull()
    expect(store.canStart).toBe(true)
  })

  it('starts targets × tasks as one job, marks the reused ones, follows its progress with an ETA, and cancels it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'))
    const reused = evaluationSummary(4, { status: 'completed' })
    bridge.handle('evaluations.start', () =>
      ok({
        evaluations: [
          evaluationSummary(7),
          reused,
          evaluationSummary(8, { checkpointId: 12, baseModelId: null })
        ],
        reused: [4],
        jobId: 'job-1'
      })
    )
    bridge.handle('jobs.cancel', (input) => ok(jobSummary(input.id, 'eval.tasks', 'cancelled')))
    const jobs = useJobsStore()
    const evaluations = useEvaluationsStore()
    const store = useEvalLaunchStore()
    await store.load()
    store.toggleTarget('base:3')
    store.toggleTarget('checkpoint:12')
    store.toggleTask('arc_easy')
    store.draft.limit = 5
    await store.start()

    expect(bridge.callsOf('evaluations.start')).toEqual([
      {
        targets: [{ baseModelId: 3 }, { checkpointId: 12 }],
        tasks: ['arc_easy'],
        settings: expect.objectContaining({ limit: 5, selfCorrection: null }),
        rerun: false
      }
    ])
    expect(store.launch).toMatchObject({ evaluationIds: [7, 4, 8], reused: [4], jobId: 'job-1' })
    expect(evaluations.evaluations.map((e) => e.id)).toEqual([8, 7, 4])
    // Running from the reply on, before the job's first event.
    expect(store.running).toBe(true)
    expect(store.canStart).toBe(false)

    vi.setSystemTime(new Date('2026-01-01T00:00:10Z'))
    bridge.emit('job.progress', {
      jobId: 'job-1',
      kind: 'eval.tasks',
      done: 5,
      total: 20,
      message: 'arc_easy: 5/10 documents'
    })
    await settle()
    expect(store.progress).toMatchObject({ fraction: 0.25, message: 'arc_easy: 5/10 documents' })
    // 10 s for 5 documents: 30 s for the 15 left.
    expect(store.etaSeconds).toBe(30)
    expect(jobs.byId['job-1'].status).toBe('running')

    await store.cancel()
    expect(bridge.callsOf('jobs.cancel')).toEqual([{ id: 'job-1' }])
    bridge.emit('job.status', { jobId: 'job-1', kind: 'eval.tasks', status: 'cancelled', error: null })
    expect(store.running).toBe(false)
    expect(store.progress).toBeNull()
    expect(store.canStart).toBe(true)
  })

  it('estimates the time left from the pace so far', () => {
    expect(remainingSeconds(10_000, 0, 20)).toBeNull()
    expect(remainingSeconds(10_000, 5, 20)).toBe(30)
    expect(remainingSeconds(10_000, 20, 20)).toBe(0)
  })

  it('lists and chooses a task file read from a path; a bad one shows the error as the server words it', async () => {
    const store = useEvalLaunchStore()
    await store.load()
    const mine = evalTaskInfo('my_quiz', 'multiple_choice', { builtin: false, file: '/data/quiz.yaml' })
    bridge.handle('evaluations.inspectTask', (input) =>
      input.task === '/data/quiz.yaml'
        ? ok(preview(mine))
        : {
            ok: false,
            error: {
              code: 'invalid_input',
              message: 'evaluations.inspectTask: /data/bad.yaml: key "process_docs": runs Python code'
            }
          }
    )
    expect(await store.importTask('/data/bad.yaml')).toBe(false)
    expect(store.importError).toBe(
      'evaluations.inspectTask: /data/bad.yaml: key "process_docs": runs Python code'
    )
    expect(store.imported).toEqual([])

    expect(await store.importTask('/data/quiz.yaml')).toBe(true)
    expect(store.importError).toBeNull()
    expect(store.imported.map((task) => task.name)).toEqual(['my_quiz'])
    expect(store.chosenTasks).toEqual(['/data/quiz.yaml'])
    expect(store.previewTask).toBe('/data/quiz.yaml')
    expect(store.taskOptions.map((task) => task.name)).toEqual(['arc_easy', 'gsm8k', 'my_quiz'])
  })

  it('keeps the evaluation list current from evaluation.status events', async () => {
    bridge.handle('evaluations.list', () => ok([evaluationSummary(7)]))
    bridge.handle('evaluations.get', (input) =>
      ok(
        evaluationDetail(input.id, {
          status: 'completed',
          primaryMetric: 'acc,none',
          scores: { 'acc,none': { value: 0.4, stderr: 0.2, higherIsBetter: true } },
          itemCount: 5
        })
      )
    )
    const store = useEvaluationsStore()
    await store.load()
    // Stores of earlier tests hear the events too: what this store holds tells what it asked.
    bridge.emit('evaluation.status', { evaluationId: 7, status: 'running', error: null })
    await settle()
    expect(store.byId.get(7)).toMatchObject({ status: 'running', itemCount: 0 })

    bridge.emit('evaluation.status', { evaluationId: 7, status: 'completed', error: null })
    await settle()
    expect(store.byId.get(7)).toMatchObject({ status: 'completed', itemCount: 5 })
    expect(store.completed.map((e) => e.id)).toEqual([7])

    // One started elsewhere arrives whole.
    bridge.emit('evaluation.status', { evaluationId: 9, status: 'queued', error: null })
    await settle()
    expect(store.evaluations.map((e) => e.id)).toEqual([9, 7])
  })
})

describe('the Matrix tab and the documents of a cell', () => {
  const matrix = (runId?: number): EvalMatrix => ({
    tasks: [{ task: 'arc_easy', metric: 'acc,none', higherIsBetter: true }],
    rows: [
      { key: 'base:3', label: 'stories260K', baseModelId: 3, checkpointId: null, runId: null, step: null },
      { key: 'checkpoint:11', label: 'a @ step 5', baseModelId: null, checkpointId: 11, runId: 1, step: 5 },
      { key: 'checkpoint:21', label: 'b @ step 5', baseModelId: null, checkpointId: 21, runId: 2, step: 5 }
    ],
    cells: [{ row: 'base:3', task: 'arc_easy', evaluationId: 7, value: 0.2, stderr: 0.2 }],
    series:
      runId === undefined
        ? []
        : [
            {
              task: 'arc_easy',
              metric: 'acc,none',
              points: [{ step: 5, value: 0.4, stderr: 0.2, evaluationId: 9 }]
            }
          ]
  })

  beforeEach(() => {
    setActivePinia(createPinia())
    bridge.reset()
    bridge.handle('evaluations.matrix', (input) => ok(matrix(input.runId)))
  })

  it("draws the newest run's checkpoints at first, another run on demand, and reloads when an evaluation completes", async () => {
    const store = useEvalMatrixStore()
    await store.load()
    expect(store.runIds).toEqual([2, 1])
    expect(store.runId).toBe(2)
    expect(bridge.callsOf('evaluations.matrix')).toEqual([{}, { runId: 2 }])
    expect(store.runMatrix?.series[0].points).toHaveLength(1)
    expect(store.cellAt('base:3', 'arc_easy')?.evaluationId).toBe(7)
    expect(store.cellAt('checkpoint:11', 'arc_easy')).toBeNull()

    await store.chooseRun(1)
    expect(bridge.callsOf('evaluations.matrix').at(-1)).toEqual({ runId: 1 })

    bridge.emit('evaluation.status', { evaluationId: 10, status: 'running', error: null })
    bridge.emit('evaluation.status', { evaluationId: 10, status: 'completed', error: null })
    await settle()
    // The whole matrix again, and the run still chosen.
    expect(bridge.callsOf('evaluations.matrix').slice(-2)).toEqual([{}, { runId: 1 }])
  })

  it('pages through the documents of an evaluation, all or only the wrong ones', async () => {
    const page: EvalItemPage = { total: 25, items: [] }
    bridge.handle('evaluations.get', (input) => ok(evaluationDetail(input.id)))
    bridge.handle('evaluations.items', () => ok(page))
    const store = useEvalItemsStore()
    await store.open(7)
    expect(store.detail?.id).toBe(7)
    expect(bridge.callsOf('evaluations.items')).toEqual([{ id: 7, only: 'all', limit: 10, offset: 0 }])
    await store.goTo(10)
    await store.setFilter('wrong')
    expect(bridge.callsOf('evaluations.items').slice(1)).toEqual([
      { id: 7, only: 'all', limit: 10, offset: 10 },
      { id: 7, only: 'wrong', limit: 10, offset: 0 }
    ])
    // The open one again keeps its page and filter.
    await store.open(7)
    expect(bridge.callsOf('evaluations.items')).toHaveLength(3)
    expect(store.only).toBe('wrong')
  })
})

describe('the Item diff tab', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    bridge.reset()
  })

  it('shows the documents that flipped at first, and any other kind of change on demand (never none)', async () => {
    const diff: EvaluationDiff = {
      a: evaluationSummary(7, { status: 'completed' }),
      b: evaluationSummary(8, { status: 'completed' }),
      counts: { improved: 2, regressed: 1, both_correct: 1, both_wrong: 1 },
      total: 3,
      items: []
    }
    bridge.handle('evaluations.diff', () => ok(diff))
    const store = useEvalDiffStore()
    await store.choose(7, 8)
    expect(bridge.callsOf('evaluations.diff')).toEqual([
      { a: 7, b: 8, only: ['improved', 'regressed'], limit: 10, offset: 0 }
    ])
    await store.toggleChange('both_wrong')
    await store.toggleChange('improved')
    await store.toggleChange('regressed')
    expect(bridge.callsOf('evaluations.diff').at(-1)).toMatchObject({ only: ['both_wrong'] })
    // The last kind shown stays shown.
    await store.toggleChange('both_wrong')
    expect(store.only).toEqual(['both_wrong'])
    expect(bridge.callsOf('evaluations.diff')).toHaveLength(4)
    // The same pair again asks nothing.
    await store.choose(7, 8)
    expect(bridge.callsOf('evaluations.diff')).toHaveLength(4)
  })

  it('shows a refused pair as a toast and no diff', async () => {
    bridge.handle('evaluations.diff', () => ({
      ok: false,
      error: {
        code: 'invalid_input',
        message: 'evaluations.diff: evaluations 7 (arc_easy) and 9 (gsm8k) are not of the same task and data'
      }
    }))
    const store = useEvalDiffStore()
    await store.choose(7, 9)
    expect(store.diff).toBeNull()
    expect(useToastStore().toasts[0].message).toContain('are not of the same task and data')
  })
})

describe('the Arena tab', () => {
  const blind: ArenaBattle = {
    id: 5,
    history: [],
    prompt: 'Tell me a story.',
    left: { output: 'Once upon a time', label: null },
    right: { output: 'Lily ran', label: null },
    vote: null,
    createdAt: '2026-01-01T00:00:00Z',
    votedAt: null
  }

  beforeEach(() => {
    setActivePinia(createPinia())
    bridge.reset()
    bridge.handle('datasets.list', () =>
      ok([
        datasetSummary(1, { name: 'empty' }),
        datasetSummary(2, {
          name: 'stories',
          latestVersion: { id: 20, version: 2, contentHash: 'x', sampleCount: 8 }
        })
      ])
    )
    bridge.handle('datasets.versions', () => ok([datasetVersion(20, 2), datasetVersion(19, 1)]))
    bridge.handle('arena.leaderboard', () => ok([]))
    bridge.handle('arena.battles', () => ok([]))
    bridge.handle('arena.start', () => ok(blind))
  })

  it('says what a battle lacks, then sends a typed prompt or a dataset version to draw from', async () => {
    const store = useArenaStore()
    await store.load()
    expect(store.datasets.map((d) => d.id)).toEqual([2])
    expect(store.problem).toBe('Choose two models or checkpoints.')
    store.a = 'base:3'
    store.b = 'base:3'
    expect(store.problem).toBe('Choose two different models or checkpoints.')
    store.b = 'checkpoint:12'
    expect(store.problem).toBe('Type a prompt.')
    store.prompt = 'Tell me a story.'
    store.settings.maxNewTokens = 0
    expect(store.problem).toBe('Max new tokens: a whole number from 1 to 4096.')
    store.settings.maxNewTokens = 32
    await store.start()
    expect(bridge.callsOf('arena.start')).toEqual([
      {
        a: { baseModelId: 3 },
        b: { checkpointId: 12 },
        prompt: 'Tell me a story.',
        chat: true,
        maxNewTokens: 32,
        temperature: 0.7
      }
    ])
    expect(store.battle?.left.label).toBeNull()
    expect(store.awaitingVote).toBe(true)

    store.source = 'dataset'
    expect(store.problem).toBe('Choose a dataset version to draw a prompt from.')
    await store.chooseDataset(2)
    expect(store.versionId).toBe(20)
    store.battle = null
    await store.start()
    expect(bridge.callsOf('arena.start')[1]).toMatchObject({ datasetVersionId: 20 })
    expect(bridge.callsOf('arena.start')[1].prompt).toBeUndefined()
  })

  it('reveals the names with the vote, ranks again, and exports the votes as a preference dataset', async () => {
    const standings: ArenaStanding[] = [
      {
        key: 'base:3',
        label: 'stories260K',
        battles: 1,
        wins: 1,
        losses: 0,
        ties: 0,
        bothBad: 0,
        winRate: 1,
        rating: 1000,
        ratingLow: 900,
        ratingHigh: 1100
      }
    ]
    bridge.handle('arena.vote', (input) =>
      ok({
        ...blind,
        vote: input.vote,
        left: { ...blind.left, label: 'stories260K' },
        right: { ...blind.right, label: 'sft @ step 10' }
      })
    )
    bridge.handle('arena.export', () => ok({ datasetId: 4, versionId: 9, pairs: 1, skipped: 0 }))
    const store = useArenaStore()
    await store.load()
    store.a = 'base:3'
    store.b = 'checkpoint:12'
    store.prompt = 'Tell me a story.'
    await store.start()
    bridge.handle('arena.leaderboard', () => ok(standings))
    await store.vote('left')
    expect(bridge.callsOf('arena.vote')).toEqual([{ id: 5, vote: 'left' }])
    expect(store.battle).toMatchObject({ vote: 'left', left: { label: 'stories260K' } })
    expect(store.awaitingVote).toBe(false)
    expect(store.leaderboard).toEqual(standings)
    // A battle is voted once.
    await store.vote('right')
    expect(bridge.callsOf('arena.vote')).toHaveLength(1)

    store.exportName = '  my prefs '
    await store.exportVotes()
    expect(bridge.callsOf('arena.export')).toEqual([{ name: 'my prefs' }])
    expect(store.exported).toEqual({ name: 'my prefs', datasetId: 4, versionId: 9, pairs: 1, skipped: 0 })
  })
})

/**
 * Evaluating one target on one task file (a task or a group of tasks): requests built from the
 * task, answered by the engine, scored and aggregated as lm-eval does, and every document kept as
 * an EvalItem for the store.
 *
 * Self-correction (generate_until tasks only; "Confidence v.s. Critique: A Decomposition of
 * Self-Correction Capability for LLMs", Yang et al., ACL 2025): after the first answer the model
 * is asked to review it (a configurable prompt) and answers again; both answers are scored and
 * the decomposition is reported (self-correction.ts).
 */
import type { EvalAnswer, EvalItem, EvalSettings, MetricScore } from '../../src-preload/contract'
import {
  aggregate,
  aggregateGroup,
  buildRequests,
  scoreDoc,
  type DocScore,
  type EvalDocRequest,
  type EvalRequest,
  type EvalResponse,
  type LoadedTask,
  type MetricAggregate,
  type MetricValue,
  type Target,
  type TaskGroup
} from './tasks'
import { generateText, respond } from './respond'
import { selfCorrectionScores } from './self-correction'
import type { TargetEngine } from './target-engine'

export type TaskFile = { kind: 'task'; task: LoadedTask } | { kind: 'group'; group: TaskGroup }

export interface EvaluationResult {
  scores: Record<string, MetricScore>
  primaryMetric: string | null
  items: EvalItem[]
}

export interface RunTaskOptions {
  settings: EvalSettings
  signal?: AbortSignal
  /** Documents done of this task file's total (the sum over a group's members). */
  onProgress?: (done: number, total: number) => void
  /** Resamples for bootstrapped standard errors (default: lm-eval's). */
  bootstrapIters?: number
}

export function memberTasks(file: TaskFile): readonly LoadedTask[] {
  return file.kind === 'task' ? [file.task] : file.group.tasks
}

/** Documents the settings evaluate in a task file. */
export function documentCount(file: TaskFile, settings: Pick<EvalSettings, 'limit'>): number {
  return memberTasks(file).reduce(
    (sum, task) => sum + Math.min(task.docs.length, settings.limit ?? Infinity),
    0
  )
}

function toScore(aggregate: MetricAggregate): MetricScore {
  return { value: aggregate.value, stderr: aggregate.stderr, higherIsBetter: aggregate.higherIsBetter }
}

function scoresOf(aggregates: Record<string, MetricAggregate>): Record<string, MetricScore> {
  return Object.fromEntries(Object.entries(aggregates).map(([key, value]) => [key, toScore(value)]))
}

/** A target as text: a choice index becomes the choice, several targets are joined. */
export function targetText(target: Target, choices: readonly string[] | undefined): string {
  const one = (value: number | string): string =>
    typeof value === 'number' && choices ? (choices[value] ?? String(value)) : String(value)
  return Array.isArray(target) ? target.map(one).join(' | ') : one(target as number | string)
}

/** Per-document metric values as numbers (a weighted metric's pair becomes its ratio). */
function documentMetrics(score: DocScore): Record<string, number> {
  const metrics: Record<string, number> = {}
  for (const result of score.results) {
    for (const [name, value] of Object.entries(result.metrics)) {
      metrics[`${name},${result.filter}`] = typeof value === 'number' ? value : ratio(value)
    }
  }
  return metrics
}

function ratio(value: MetricValue): number {
  const [a, b] = value as readonly [number, number]
  return b === 0 ? 0 : a / b
}

function answerOf(score: DocScore, response: EvalResponse): EvalAnswer {
  return {
    output: response.type === 'generate_until' ? response.text : null,
    prediction: score.results[0]?.prediction ?? null,
    correct: score.correct
  }
}

function itemOf(
  task: LoadedTask,
  prefix: string,
  request: EvalDocRequest,
  response: EvalResponse,
  score: DocScore,
  review: { response: EvalResponse; score: DocScore } | null
): EvalItem {
  return {
    key: `${prefix}${request.index}`,
    task: task.name,
    index: request.index,
    prompt: request.prompt,
    choices: request.choices ? [...request.choices] : null,
    logprobs: response.type === 'multiple_choice' ? [...response.logprobs] : null,
    target: targetText(request.target, request.choices),
    answer: answerOf(score, response),
    metrics: documentMetrics(score),
    review: review ? answerOf(review.score, review.response) : null
  }
}

/** The prompt that asks for a reviewed answer: the conversation so far and the review request. */
function reviewPrompt(
  engine: TargetEngine,
  task: LoadedTask,
  request: EvalDocRequest,
  firstAnswer: string,
  reviewRequest: string
): string {
  if (request.turns) {
    return engine.renderChat([
      ...request.turns,
      { role: 'assistant', content: firstAnswer },
      { role: 'user', content: reviewRequest }
    ])
  }
  return `${request.prompt}${firstAnswer}${task.config.fewshotDelimiter}${reviewRequest}\n`
}

interface TaskRun {
  task: LoadedTask
  items: EvalItem[]
  scores: DocScore[]
  reviewScores: DocScore[] | null
}

async function runOneTask(
  engine: TargetEngine,
  task: LoadedTask,
  prefix: string,
  options: RunTaskOptions,
  progress: (done: number) => void
): Promise<TaskRun> {
  const { settings, signal } = options
  const selfCorrection = settings.selfCorrection
  if (selfCorrection && task.config.outputType !== 'generate_until') {
    throw new Error(
      `task ${task.name}: self-correction reviews generated answers; this task is ${task.config.outputType}`
    )
  }
  const requests = buildRequests(task, {
    numFewshot: settings.numFewshot ?? undefined,
    limit: settings.limit ?? undefined,
    seed: settings.seed,
    systemInstruction: settings.systemInstruction ?? undefined,
    renderChat: settings.applyChatTemplate ? engine.renderChat : undefined
  })
  const steps = selfCorrection ? 2 : 1
  const responses = await respond(engine, requests, {
    batchSize: settings.batchSize,
    seed: settings.seed,
    signal,
    onProgress: (done) => progress(Math.floor(done / steps))
  })
  const scores = requests.map((request, i) => scoreDoc(task, request, responses[i]))
  let reviews: { response: EvalResponse; score: DocScore }[] | null = null
  if (selfCorrection) {
    reviews = []
    for (const [i, request] of requests.entries()) {
      if (signal?.aborted) throw new Error('evaluation cancelled')
      const first = (responses[i] as Extract<EvalResponse, { type: 'generate_until' }>).text
      const prompt = reviewPrompt(engine, task, request, first, selfCorrection.reviewPrompt)
      const generation = request.request as Extract<EvalRequest, { type: 'generate_until' }>
      const text = await generateText(engine, prompt, generation, settings.seed + request.index, signal)
      const response: EvalResponse = { type: 'generate_until', text }
      reviews.push({ response, score: scoreDoc(task, request, response) })
      progress(Math.floor((requests.length + i + 1) / steps))
    }
  }
  const items = requests.map((request, i) =>
    itemOf(task, prefix, request, responses[i], scores[i], reviews?.[i] ?? null)
  )
  return { task, items, scores, reviewScores: reviews?.map((r) => r.score) ?? null }
}

function taskScores(run: TaskRun, options: RunTaskOptions): Record<string, MetricAggregate> {
  return aggregate(run.task, run.scores, { bootstrapIters: options.bootstrapIters })
}

function firstKey(record: Record<string, unknown>): string | null {
  return Object.keys(record)[0] ?? null
}

/** Evaluates `file` on the engine's target. */
export async function runTaskFile(
  engine: TargetEngine,
  file: TaskFile,
  options: RunTaskOptions
): Promise<EvaluationResult> {
  const total = documentCount(file, options.settings)
  let before = 0
  const runs: TaskRun[] = []
  for (const task of memberTasks(file)) {
    const prefix = file.kind === 'group' ? `${task.name}/` : ''
    const offset = before
    const run = await runOneTask(engine, task, prefix, options, (done) =>
      options.onProgress?.(offset + done, total)
    )
    runs.push(run)
    before += run.items.length
    options.onProgress?.(before, total)
  }
  const items = runs.flatMap((run) => run.items)
  if (file.kind === 'task') {
    const [run] = runs
    const aggregates = taskScores(run, options)
    const scores = scoresOf(aggregates)
    if (run.reviewScores) Object.assign(scores, selfCorrectionScores(run.scores, run.reviewScores))
    return { scores, primaryMetric: firstKey(aggregates), items }
  }
  const perTask = Object.fromEntries(runs.map((run) => [run.task.name, taskScores(run, options)]))
  const groupAggregates = aggregateGroup(file.group, perTask)
  const scores = scoresOf(groupAggregates)
  for (const [name, aggregates] of Object.entries(perTask)) {
    for (const [key, value] of Object.entries(aggregates)) scores[`${name}:${key}`] = toScore(value)
  }
  if (options.settings.selfCorrection) {
    const first = runs.flatMap((run) => run.scores)
    Object.assign(
      scores,
      selfCorrectionScores(
        first,
        runs.flatMap((run) => run.reviewScores ?? [])
      )
    )
  }
  return { scores, primaryMetric: firstKey(groupAggregates), items }
}

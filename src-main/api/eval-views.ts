/**
 * Views over stored evaluations: the targets × tasks matrix (with a run's checkpoints as series
 * over steps) and the item diff of two evaluations of one task.
 */
import type {
  EvalAnswer,
  EvalItemChange,
  EvalItemPair,
  EvalMatrix,
  EvaluationDiff,
  EvaluationSummary,
  ParsedInput
} from '../../src-preload/contract'
import { ApiError, notFound } from './errors'
import type { RequestContext } from './handlers'

/** The newest completed evaluation of each target × task, with its headline metric. */
export function evaluationMatrix(ctx: RequestContext, input: ParsedInput<'evaluations.matrix'>): EvalMatrix {
  const completed = ctx.store.evaluations
    .completed()
    .filter((e) => e.kind === 'task' && e.primaryMetric !== null && e.scores[e.primaryMetric] !== undefined)
    .filter((e) => input.runId === undefined || e.runId === input.runId)
  const newest = new Map<string, EvaluationSummary>()
  for (const evaluation of completed) newest.set(`${evaluation.targetKey}\0${evaluation.task}`, evaluation)
  const cells = [...newest.values()]
  const tasks = new Map<string, EvalMatrix['tasks'][number]>()
  const rows = new Map<string, EvalMatrix['rows'][number]>()
  for (const e of cells) {
    const score = e.scores[e.primaryMetric!]
    tasks.set(e.task, { task: e.task, metric: e.primaryMetric!, higherIsBetter: score.higherIsBetter })
    rows.set(e.targetKey, {
      key: e.targetKey,
      label: e.targetLabel,
      baseModelId: e.baseModelId,
      checkpointId: e.checkpointId,
      runId: e.runId,
      step: e.step
    })
  }
  const orderedRows = [...rows.values()].sort(
    (a, b) =>
      Number(a.runId ?? 0) - Number(b.runId ?? 0) ||
      Number(a.step ?? -1) - Number(b.step ?? -1) ||
      a.label.localeCompare(b.label)
  )
  const series =
    input.runId === undefined
      ? []
      : [...tasks.values()].map(({ task, metric }) => ({
          task,
          metric,
          points: cells
            .filter((e) => e.task === task && e.step !== null)
            .sort((a, b) => a.step! - b.step!)
            .map((e) => ({
              step: e.step!,
              value: e.scores[metric].value,
              stderr: e.scores[metric].stderr,
              evaluationId: e.id
            }))
        }))
  return {
    tasks: [...tasks.values()].sort((a, b) => a.task.localeCompare(b.task)),
    rows: orderedRows,
    cells: cells.map((e) => ({
      row: e.targetKey,
      task: e.task,
      evaluationId: e.id,
      value: e.scores[e.primaryMetric!].value,
      stderr: e.scores[e.primaryMetric!].stderr
    })),
    series
  }
}

function changeOf(a: EvalAnswer, b: EvalAnswer): EvalItemChange {
  if (a.correct && b.correct) return 'both_correct'
  if (a.correct) return 'regressed'
  if (b.correct) return 'improved'
  return 'both_wrong'
}

/** Two evaluations of one task, document by document (matched by key), b measured against a. */
export function evaluationDiff(ctx: RequestContext, input: ParsedInput<'evaluations.diff'>): EvaluationDiff {
  const operation = 'evaluations.diff'
  const [a, b] = [input.a, input.b].map((id) => {
    const evaluation = ctx.store.evaluations.get(id)
    if (!evaluation) throw notFound('evaluation', id)
    if (evaluation.status !== 'completed')
      throw new ApiError('conflict', `${operation}: evaluation ${id} is ${evaluation.status}, not completed`)
    return evaluation
  })
  if (a.task !== b.task || (a.taskHash !== null && b.taskHash !== null && a.taskHash !== b.taskHash)) {
    throw new ApiError(
      'invalid_input',
      `${operation}: evaluations ${a.id} (${a.task}) and ${b.id} (${b.task}) are not of the same task and data`
    )
  }
  const bItems = new Map(ctx.store.evaluations.allItems(b.id).map((item) => [item.key, item]))
  const counts: Record<EvalItemChange, number> = { improved: 0, regressed: 0, both_correct: 0, both_wrong: 0 }
  const pairs: EvalItemPair[] = []
  for (const item of ctx.store.evaluations.allItems(a.id)) {
    const other = bItems.get(item.key)
    if (!other) continue
    const change = changeOf(item.answer, other.answer)
    counts[change]++
    if (!input.only.includes(change)) continue
    pairs.push({
      key: item.key,
      task: item.task,
      index: item.index,
      prompt: item.prompt,
      choices: item.choices,
      target: item.target,
      a: item.answer,
      b: other.answer,
      change
    })
  }
  return { a, b, counts, total: pairs.length, items: pairs.slice(input.offset, input.offset + input.limit) }
}

/**
 * What the eval commands print and write about one evaluation: lm-eval's results table, the `--out`
 * JSON, and short lines for its items.
 */
import type { EvalAnswer, EvalItem, EvaluationDetail, MetricScore } from '../../../src-preload/contract'
import { loadTaskFile, type LoadedTask } from '../../eval/tasks'
import { memberTasks } from '../../eval/runner'
import { formatMarkdownTable } from '../format'

/** What the table shows of each task beside its scores: lm-eval's "Version" and "n-shot". */
export interface TaskFacts {
  version: string
  numFewshot: string
}

const UNKNOWN = 'N/A'

function factsOf(task: LoadedTask, numFewshot: number | null): TaskFacts {
  const version = task.config.metadata.version
  return {
    version: version === undefined || version === null ? UNKNOWN : String(version),
    numFewshot: String(numFewshot ?? task.config.numFewshot)
  }
}

/**
 * Each task's facts, read from the evaluation's task file as long as it is the file evaluated (same
 * hash); an evaluation whose file changed or went away shows what its settings say, else N/A.
 */
export async function taskFacts(evaluation: EvaluationDetail): Promise<Map<string, TaskFacts>> {
  const numFewshot = evaluation.settings?.numFewshot ?? null
  const facts = new Map<string, TaskFacts>()
  const fallback = { version: UNKNOWN, numFewshot: numFewshot === null ? UNKNOWN : String(numFewshot) }
  facts.set(evaluation.task, fallback)
  if (!evaluation.taskFile) return facts
  try {
    const file = await loadTaskFile(evaluation.taskFile)
    const hash = file.kind === 'task' ? file.task.hash : file.group.hash
    if (hash !== evaluation.taskHash) return facts
    if (file.kind === 'group') facts.set(evaluation.task, { version: UNKNOWN, numFewshot: ' ' })
    for (const task of memberTasks(file)) facts.set(task.name, factsOf(task, numFewshot))
  } catch {
    // A task file that no longer reads: the stored scores are still worth showing.
  }
  return facts
}

interface ScoreLine {
  task: string
  metric: string
  filter: string
  score: MetricScore
}

/** `acc,none` is the evaluated task's; a group's members' are `mmlu_anatomy:acc,none`. */
function scoreLines(evaluation: EvaluationDetail): ScoreLine[] {
  return Object.entries(evaluation.scores).map(([key, score]) => {
    const colon = key.indexOf(':')
    const task = colon >= 0 ? key.slice(0, colon) : evaluation.task
    const [metric, filter = ''] = key.slice(colon + 1).split(',')
    return { task, metric, filter, score }
  })
}

/** A score as lm-eval prints it. */
export function formatValue(value: number): string {
  return value.toFixed(4)
}

/**
 * lm-eval's table: a row per metric and filter, metrics sorted by name within a task, a group's
 * own scores first and its members' under " - name".
 */
export function resultsTable(evaluation: EvaluationDetail, facts: Map<string, TaskFacts>): string {
  const lines = scoreLines(evaluation)
  const tasks = [...new Set([evaluation.task, ...lines.map((line) => line.task)])]
  const rows: string[][] = []
  for (const task of tasks) {
    const own = lines
      .filter((line) => line.task === task)
      // By code point, as Python's sorted(): "acc,none" before "acc_norm,none".
      .sort((a, b) => (`${a.metric},${a.filter}` < `${b.metric},${b.filter}` ? -1 : 1))
    const fact = facts.get(task) ?? { version: UNKNOWN, numFewshot: UNKNOWN }
    own.forEach((line, i) => {
      const first = i === 0
      const { value, stderr, higherIsBetter } = line.score
      rows.push([
        first ? (task === evaluation.task ? task : ` - ${task}`) : '',
        first ? fact.version : '',
        line.filter,
        fact.numFewshot,
        line.metric,
        higherIsBetter ? '↑' : '↓',
        formatValue(value),
        '±',
        stderr === null ? UNKNOWN : formatValue(stderr)
      ])
    })
  }
  return formatMarkdownTable(
    [
      { header: 'Tasks', align: 'left' },
      { header: 'Version', align: 'right' },
      { header: 'Filter', align: 'left' },
      { header: 'n-shot', align: 'right' },
      { header: 'Metric', align: 'left' },
      { header: '', align: 'left' },
      { header: 'Value', align: 'right' },
      { header: '', align: 'left' },
      { header: 'Stderr', align: 'right' }
    ],
    rows
  )
}

/** One item of the `--out` file: what lm-eval's per-sample log holds that a script compares. */
function outItem(item: EvalItem, inGroup: boolean) {
  const { prediction, correct, output } = item.answer
  return {
    ...(inGroup ? { task: item.task } : {}),
    index: item.index,
    target: item.target,
    prediction,
    correct,
    ...(item.logprobs !== null ? { logprobs: item.logprobs } : {}),
    ...(output !== null ? { output } : {}),
    ...(item.review !== null ? { review: item.review } : {})
  }
}

/**
 * The `--out` JSON: the task, each metric's value and standard error, and every item in data order
 * (a group's items carry their member task, since indexes restart in each).
 */
export function outJson(evaluation: EvaluationDetail, items: readonly EvalItem[]): string {
  const metrics = Object.fromEntries(
    Object.entries(evaluation.scores).map(([key, s]) => [key, { value: s.value, stderr: s.stderr }])
  )
  const inGroup = items.some((item) => item.task !== evaluation.task)
  return (
    JSON.stringify(
      { task: evaluation.task, metrics, items: items.map((item) => outItem(item, inGroup)) },
      null,
      2
    ) + '\n'
  )
}

export function oneLine(text: string, max = 100): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

function mark(correct: boolean | null): string {
  return correct === null ? '·' : correct ? '✓' : '✗'
}

/** A chosen choice as its text, a generation's answer as it is. */
export function answerText(choices: readonly string[] | null, answer: EvalAnswer): string {
  const { prediction } = answer
  if (typeof prediction === 'number' && choices) return choices[prediction] ?? String(prediction)
  return prediction === null ? '' : String(prediction)
}

/** A few lines per item: its key, right or wrong, target and answer, and a generation's text. */
export function itemLines(item: EvalItem): string[] {
  const lines = [
    `${mark(item.answer.correct)} ${item.key}  target: ${oneLine(item.target)}  answer: ${oneLine(answerText(item.choices, item.answer))}`
  ]
  if (item.answer.output !== null) lines.push(`    output: ${oneLine(item.answer.output)}`)
  if (item.review) {
    lines.push(
      `    after review ${mark(item.review.correct)} answer: ${oneLine(answerText(item.choices, item.review))}`
    )
  }
  return lines
}

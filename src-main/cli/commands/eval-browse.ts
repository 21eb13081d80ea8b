/** The stored evaluations from the command line: built-in tasks, the list, one result, the matrix, items, diffs. */
import type { EvalItemChange, EvaluationSummary, MetricScore } from '../../../src-preload/contract'
import { JSON_OPTION, UsageError, type Command, type ParsedArgs } from '../command'
import { formatTable } from '../format'
import { withSession } from '../session'
import { optionalNumber } from './engine-job'
import { evaluationReport } from './eval'
import { answerText, formatValue, itemLines, oneLine } from './eval-report'

function evaluationId(args: ParsedArgs, position = 0): number {
  const raw = args.positionals[position]
  const id = Number(raw)
  if (!Number.isInteger(id) || id < 1)
    throw new UsageError(`an evaluation id is a whole number ≥ 1, got ${raw}`)
  return id
}

function formatScore(score: Pick<MetricScore, 'value' | 'stderr'> | undefined): string {
  if (!score) return ''
  return score.stderr === null
    ? formatValue(score.value)
    : `${formatValue(score.value)} ± ${formatValue(score.stderr)}`
}

function headline(evaluation: EvaluationSummary): string {
  const key = evaluation.primaryMetric
  return key === null ? '' : `${key} ${formatScore(evaluation.scores[key])}`
}

const evalTasksCommand: Command = {
  words: ['eval', 'tasks'],
  summary: 'List the built-in evaluation tasks (resources/benchmarks).',
  options: { json: JSON_OPTION },
  async run(args, io) {
    const tasks = await withSession(args, (s) => s.call('evaluations.tasks', {}))
    if (args.values.json) return io.out(JSON.stringify(tasks, null, 2))
    io.out(
      formatTable(tasks, [
        { header: 'NAME', value: (t) => t.name },
        { header: 'TYPE', value: (t) => (t.kind === 'group' ? `group of ${t.tasks.length}` : t.outputType) },
        { header: 'DOCS', value: (t) => t.size },
        { header: 'SHOTS', value: (t) => t.numFewshot },
        { header: 'METRICS', value: (t) => t.metrics.join(' ') },
        { header: 'TITLE', value: (t) => t.title }
      ])
    )
  }
}

const evalListCommand: Command = {
  words: ['eval', 'list'],
  summary: 'List evaluations, newest first, with their headline metric.',
  options: {
    run: { type: 'string', valueName: 'ID', description: "only this run's checkpoints" },
    task: { type: 'string', valueName: 'NAME', description: 'only this task' },
    json: JSON_OPTION
  },
  async run(args, io) {
    const runId = optionalNumber(args, 'run', { integer: true, min: 1 })
    const task = typeof args.values.task === 'string' ? args.values.task : undefined
    const rows = await withSession(args, (s) => s.call('evaluations.list', { runId, task, limit: 1000 }))
    if (args.values.json) return io.out(JSON.stringify(rows, null, 2))
    if (rows.length === 0) return io.out('no evaluations yet (finetune-studio eval --model DIR --task NAME)')
    io.out(
      formatTable(rows, [
        { header: 'ID', value: (e) => e.id },
        { header: 'TASK', value: (e) => e.task },
        { header: 'TARGET', value: (e) => e.targetLabel },
        { header: 'STATUS', value: (e) => e.status },
        { header: 'DOCS', value: (e) => e.itemCount },
        { header: 'HEADLINE', value: headline },
        { header: 'CREATED', value: (e) => e.createdAt }
      ])
    )
  }
}

const evalShowCommand: Command = {
  words: ['eval', 'show'],
  summary: 'Show one evaluation: its settings, the results table and its first items.',
  positionals: [{ name: 'id', description: 'the evaluation' }],
  options: {
    items: { type: 'string', valueName: 'N', description: 'items to show', default: '5' },
    json: JSON_OPTION
  },
  async run(args, io) {
    const id = evaluationId(args)
    const count = optionalNumber(args, 'items', { integer: true, min: 0, max: 1000 })!
    const { evaluation, page } = await withSession(args, async (s) => {
      const evaluation = await s.call('evaluations.get', { id })
      const page =
        count > 0 ? await s.call('evaluations.items', { id, limit: count }) : { total: 0, items: [] }
      return { evaluation, page }
    })
    if (args.values.json) return io.out(JSON.stringify({ ...evaluation, items: page.items }, null, 2))
    if (evaluation.status !== 'completed') {
      io.out(`evaluation ${id}: ${evaluation.targetLabel} on ${evaluation.task}: ${evaluation.status}`)
      if (evaluation.error) io.out(`error: ${evaluation.error}`)
      return
    }
    io.out(await evaluationReport(evaluation))
    if (evaluation.taskFile)
      io.out(`task file: ${evaluation.taskFile} (sha256 ${evaluation.taskHash?.slice(0, 12)})`)
    if (evaluation.settings) io.out(`settings: ${JSON.stringify(evaluation.settings)}`)
    if (page.items.length === 0) return
    io.out('')
    io.out(`first ${page.items.length} of ${page.total} items:`)
    for (const item of page.items) for (const line of itemLines(item)) io.out(line)
  }
}

const evalItemsCommand: Command = {
  words: ['eval', 'items'],
  summary: "List an evaluation's items in data order: target, answer, right or wrong.",
  positionals: [{ name: 'id', description: 'the evaluation' }],
  options: {
    only: { type: 'string', valueName: 'all|correct|wrong', description: 'which items', default: 'all' },
    limit: { type: 'string', valueName: 'N', description: 'items to list', default: '100' },
    offset: { type: 'string', valueName: 'N', description: 'skip the first N', default: '0' },
    json: JSON_OPTION
  },
  async run(args, io) {
    const id = evaluationId(args)
    const only = args.values.only
    if (only !== 'all' && only !== 'correct' && only !== 'wrong')
      throw new UsageError(`--only must be all, correct or wrong, got ${String(only)}`)
    const limit = optionalNumber(args, 'limit', { integer: true, min: 1, max: 1000 })!
    const offset = optionalNumber(args, 'offset', { integer: true, min: 0 })!
    const page = await withSession(args, (s) => s.call('evaluations.items', { id, only, limit, offset }))
    if (args.values.json) return io.out(JSON.stringify(page, null, 2))
    io.out(
      `${page.total} ${only === 'all' ? '' : `${only} `}items${page.items.length < page.total ? `, showing ${offset + 1}–${offset + page.items.length}` : ''}`
    )
    for (const item of page.items) for (const line of itemLines(item)) io.out(line)
  }
}

const CHANGES: readonly EvalItemChange[] = ['improved', 'regressed', 'both_correct', 'both_wrong']

const evalDiffCommand: Command = {
  words: ['eval', 'diff'],
  summary: 'Compare two evaluations of one task item by item: what B got right that A got wrong, and back.',
  positionals: [
    { name: 'a', description: 'the evaluation compared against' },
    { name: 'b', description: 'the other evaluation' }
  ],
  options: {
    only: {
      type: 'string',
      valueName: 'a,b,…',
      description: `changes to list, of ${CHANGES.join(', ')}`,
      default: 'improved,regressed'
    },
    json: JSON_OPTION
  },
  async run(args, io) {
    const a = evaluationId(args, 0)
    const b = evaluationId(args, 1)
    const only = String(args.values.only)
      .split(',')
      .map((change) => change.trim())
    const unknown = only.find((change) => !CHANGES.includes(change as EvalItemChange))
    if (unknown !== undefined)
      throw new UsageError(`--only takes ${CHANGES.join(', ')}, got ${JSON.stringify(unknown)}`)
    const diff = await withSession(args, (s) =>
      s.call('evaluations.diff', { a, b, only: only as EvalItemChange[], limit: 1000 })
    )
    if (args.values.json) return io.out(JSON.stringify(diff, null, 2))
    io.out(
      `A: evaluation ${a}, ${diff.a.targetLabel}; B: evaluation ${b}, ${diff.b.targetLabel}; task ${diff.a.task}`
    )
    io.out(CHANGES.map((change) => `${change} ${diff.counts[change]}`).join(', '))
    for (const pair of diff.items) {
      io.out('')
      io.out(`${pair.change} ${pair.key}  target: ${oneLine(pair.target)}`)
      for (const [side, answer] of [
        ['A', pair.a],
        ['B', pair.b]
      ] as const) {
        const output = answer.output === null ? '' : `  output: ${oneLine(answer.output)}`
        io.out(`  ${side}: ${oneLine(answerText(pair.choices, answer))}${output}`)
      }
    }
  }
}

const evalMatrixCommand: Command = {
  words: ['eval', 'matrix'],
  summary: 'Models and checkpoints × tasks: the headline metric ± stderr of the newest evaluation of each.',
  options: {
    run: {
      type: 'string',
      valueName: 'ID',
      description: "only this run's checkpoints, with the metric over steps"
    },
    json: JSON_OPTION
  },
  async run(args, io) {
    const runId = optionalNumber(args, 'run', { integer: true, min: 1 })
    const matrix = await withSession(args, (s) => s.call('evaluations.matrix', { runId }))
    if (args.values.json) return io.out(JSON.stringify(matrix, null, 2))
    if (matrix.rows.length === 0) return io.out('no completed evaluations yet')
    const cell = (row: string, task: string) => {
      const found = matrix.cells.find((c) => c.row === row && c.task === task)
      return found ? `${formatScore(found)} (#${found.evaluationId})` : '-'
    }
    io.out(
      formatTable(matrix.rows, [
        { header: 'MODEL / CHECKPOINT', value: (r) => r.label },
        ...matrix.tasks.map((t) => ({
          header: `${t.task} ${t.metric}${t.higherIsBetter ? ' ↑' : ' ↓'}`,
          value: (r: (typeof matrix.rows)[number]) => cell(r.key, t.task)
        }))
      ])
    )
    for (const series of matrix.series) {
      io.out('')
      io.out(`${series.task} ${series.metric} over steps:`)
      for (const point of series.points) io.out(`  step ${point.step}: ${formatScore(point)}`)
    }
  }
}

export const evalCommands: Command[] = [
  evalTasksCommand,
  evalListCommand,
  evalShowCommand,
  evalItemsCommand,
  evalDiffCommand,
  evalMatrixCommand
]

/**
 * Evaluations and their items. An evaluation measures one target (a base model or a run's
 * checkpoint) on one task; its items are the task's documents as the target answered them. Items
 * live in evaluation_results: `score` is 1 / 0 for a right / wrong answer (null where a task has no
 * right answer, e.g. perplexity), and `details` holds the rest of EvalItem.
 */
import type Database from 'better-sqlite3'
import type {
  EvalAnswer,
  EvalItem,
  EvalItemPage,
  EvalSettings,
  EvaluationDetail,
  EvaluationStatus,
  EvaluationSummary,
  MetricScore
} from '../../../src-preload/contract'
import { StoreNotFoundError } from '../errors'
import { parseJsonObject } from '../json'
import { NOW_SQL, inTransaction, pageParams, type Page } from './sql'

export type EvaluationKind = EvaluationSummary['kind']

export interface NewEvaluation {
  name: string
  task: string
  kind: EvaluationKind
  /** `base:<id>`, `checkpoint:<id>` or `adapter:<base id>:<hash>`: the same weights have one key. */
  targetKey: string
  targetLabel: string
  runId?: number | null
  checkpointId?: number | null
  baseModelId?: number | null
  taskFile?: string | null
  taskHash?: string | null
  /** Target × task hash × settings: a completed evaluation with the same key can be reused. */
  reuseKey?: string | null
  settings?: EvalSettings | null
  /** The process that will evaluate it. */
  ownerPid?: number | null
}

export interface EvaluationFilter extends Page {
  runId?: number
  task?: string
}

interface EvaluationRow {
  id: number
  name: string
  benchmark: string
  kind: EvaluationKind
  run_id: number | null
  checkpoint_id: number | null
  base_model_id: number | null
  step: number | null
  target_key: string
  target_label: string
  config: string
  metrics: string
  primary_metric: string | null
  status: EvaluationStatus
  error: string | null
  task_file: string | null
  task_hash: string | null
  item_count: number
  created_at: string
  finished_at: string | null
}

interface ItemRow {
  sample_key: string
  prompt: string
  output: string
  expected: string | null
  score: number | null
  details: string
  position: number
}

/** What EvalItem keeps in evaluation_results.details. */
interface ItemDetails {
  task?: string
  index?: number
  choices?: string[] | null
  logprobs?: number[] | null
  prediction?: string | number | null
  /** A generation task's output is in the output column; log-likelihood tasks have none. */
  generated?: boolean
  metrics?: Record<string, number>
  review?: EvalAnswer | null
}

const SELECT_EVALUATION = `
  SELECT e.*, c.step AS step,
    (SELECT COUNT(*) FROM evaluation_results r WHERE r.evaluation_id = e.id) AS item_count
  FROM evaluations e LEFT JOIN checkpoints c ON c.id = e.checkpoint_id`

function toSummary(row: EvaluationRow): EvaluationSummary {
  return {
    id: row.id,
    name: row.name,
    task: row.benchmark,
    kind: row.kind,
    runId: row.run_id,
    checkpointId: row.checkpoint_id,
    baseModelId: row.base_model_id,
    step: row.step,
    targetKey: row.target_key,
    targetLabel: row.target_label,
    status: row.status,
    error: row.error,
    scores: parseJsonObject(row.metrics, 'evaluations.metrics') as Record<string, MetricScore>,
    primaryMetric: row.primary_metric,
    itemCount: row.item_count,
    createdAt: row.created_at,
    finishedAt: row.finished_at
  }
}

function toDetail(row: EvaluationRow): EvaluationDetail {
  const config = parseJsonObject(row.config, 'evaluations.config')
  return {
    ...toSummary(row),
    taskFile: row.task_file,
    taskHash: row.task_hash,
    settings: row.kind === 'benchmark' ? null : (config as unknown as EvalSettings)
  }
}

function correctFromScore(score: number | null): boolean | null {
  return score === null ? null : score >= 0.5
}

function toItem(row: ItemRow, fallbackTask: string): EvalItem {
  const details = parseJsonObject(row.details, 'evaluation_results.details') as ItemDetails
  return {
    key: row.sample_key,
    task: details.task ?? fallbackTask,
    index: details.index ?? row.position,
    prompt: row.prompt,
    choices: details.choices ?? null,
    logprobs: details.logprobs ?? null,
    target: row.expected ?? '',
    answer: {
      // Benchmark evaluations from before tasks generated every answer.
      output: details.generated === false ? null : row.output,
      prediction: details.prediction ?? null,
      correct: correctFromScore(row.score)
    },
    metrics: details.metrics ?? {},
    review: details.review ?? null
  }
}

function itemParams(evaluationId: number, item: EvalItem) {
  const details: ItemDetails = {
    task: item.task,
    index: item.index,
    choices: item.choices,
    logprobs: item.logprobs,
    prediction: item.answer.prediction,
    generated: item.answer.output !== null,
    metrics: item.metrics,
    review: item.review
  }
  return {
    evaluationId,
    sample_key: item.key,
    prompt: item.prompt,
    output: item.answer.output ?? '',
    expected: item.target,
    score: item.answer.correct === null ? null : item.answer.correct ? 1 : 0,
    details: JSON.stringify(details)
  }
}

type ItemParams = ReturnType<typeof itemParams>

/** Items in document order: `position` is the row's place among its evaluation's items. */
const SELECT_ITEMS = `
  SELECT sample_key, prompt, output, expected, score, details,
    ROW_NUMBER() OVER (ORDER BY id) - 1 AS position
  FROM evaluation_results WHERE evaluation_id = @id`

const ONLY_CONDITION = {
  all: '1',
  correct: 'score >= 0.5',
  wrong: 'score < 0.5'
} as const

export type ItemSelection = keyof typeof ONLY_CONDITION

function prepareStatements(db: Database.Database) {
  const itemQueries = Object.fromEntries(
    Object.entries(ONLY_CONDITION).map(([only, condition]) => [
      only,
      {
        page: db.prepare<{ id: number; limit: number; offset: number }, ItemRow>(
          `SELECT * FROM (${SELECT_ITEMS}) WHERE ${condition} ORDER BY position LIMIT @limit OFFSET @offset`
        ),
        count: db
          .prepare<{ id: number }, number>(
            `SELECT COUNT(*) FROM evaluation_results WHERE evaluation_id = @id AND ${condition}`
          )
          .pluck()
      }
    ])
  ) as Record<
    ItemSelection,
    {
      page: Database.Statement<{ id: number; limit: number; offset: number }, ItemRow>
      count: Database.Statement<{ id: number }, number>
    }
  >
  return {
    insert: db.prepare<Record<string, unknown>, { id: number }>(
      `INSERT INTO evaluations (name, benchmark, kind, run_id, checkpoint_id, base_model_id, target_key, target_label,
         task_file, task_hash, reuse_key, config, owner_pid, status)
       VALUES (@name, @task, @kind, @runId, @checkpointId, @baseModelId, @targetKey, @targetLabel,
         @taskFile, @taskHash, @reuseKey, @config, @ownerPid, 'queued') RETURNING id`
    ),
    get: db.prepare<[number], EvaluationRow>(`${SELECT_EVALUATION} WHERE e.id = ?`),
    list: db.prepare<
      { runId: number | null; task: string | null; limit: number; offset: number },
      EvaluationRow
    >(
      `${SELECT_EVALUATION}
       WHERE (@runId IS NULL OR e.run_id = @runId) AND (@task IS NULL OR e.benchmark = @task)
       ORDER BY e.id DESC LIMIT @limit OFFSET @offset`
    ),
    completed: db.prepare<[], EvaluationRow>(
      `${SELECT_EVALUATION} WHERE e.status = 'completed' AND e.kind <> 'benchmark' ORDER BY e.id`
    ),
    reusable: db.prepare<[string], EvaluationRow>(
      `${SELECT_EVALUATION} WHERE e.reuse_key = ? AND e.status = 'completed' ORDER BY e.id DESC LIMIT 1`
    ),
    setStatus: db.prepare<{ id: number; status: EvaluationStatus; error: string | null }>(
      `UPDATE evaluations SET status = @status, error = @error,
         finished_at = CASE WHEN @status IN ('completed', 'failed', 'interrupted') THEN ${NOW_SQL} ELSE NULL END
       WHERE id = @id`
    ),
    setScores: db.prepare<{ id: number; metrics: string; primary: string | null }>(
      'UPDATE evaluations SET metrics = @metrics, primary_metric = @primary WHERE id = @id'
    ),
    unfinished: db.prepare<[], { id: number; owner_pid: number | null }>(
      "SELECT id, owner_pid FROM evaluations WHERE status IN ('queued', 'running')"
    ),
    delete: db.prepare<[number]>('DELETE FROM evaluations WHERE id = ?'),
    clearItems: db.prepare<[number]>('DELETE FROM evaluation_results WHERE evaluation_id = ?'),
    insertItem: db.prepare<ItemParams>(
      `INSERT INTO evaluation_results (evaluation_id, sample_key, prompt, output, expected, score, details)
       VALUES (@evaluationId, @sample_key, @prompt, @output, @expected, @score, @details)`
    ),
    itemQueries,
    allItems: db.prepare<{ id: number }, ItemRow>(`${SELECT_ITEMS} ORDER BY id`)
  }
}

export function createEvaluationsRepo(db: Database.Database) {
  const sql = prepareStatements(db)

  function get(id: number): EvaluationDetail | null {
    const row = sql.get.get(id)
    return row ? toDetail(row) : null
  }

  function require(operation: string, id: number): EvaluationDetail {
    const evaluation = get(id)
    if (!evaluation) throw new StoreNotFoundError(`${operation}: no evaluation with id ${id}`)
    return evaluation
  }

  /** A new evaluation in status 'queued'. */
  function create(input: NewEvaluation): EvaluationDetail {
    const { id } = sql.insert.get({
      name: input.name,
      task: input.task,
      kind: input.kind,
      runId: input.runId ?? null,
      checkpointId: input.checkpointId ?? null,
      baseModelId: input.baseModelId ?? null,
      targetKey: input.targetKey,
      targetLabel: input.targetLabel,
      taskFile: input.taskFile ?? null,
      taskHash: input.taskHash ?? null,
      reuseKey: input.reuseKey ?? null,
      config: JSON.stringify(input.settings ?? {}),
      ownerPid: input.ownerPid ?? null
    })!
    return get(id)!
  }

  /** Newest first. */
  function list(filter: EvaluationFilter = {}): EvaluationSummary[] {
    return sql.list
      .all({ runId: filter.runId ?? null, task: filter.task ?? null, ...pageParams(filter, 100) })
      .map(toSummary)
  }

  function setStatus(id: number, status: EvaluationStatus, error: string | null = null): EvaluationDetail {
    require('evaluations.setStatus', id)
    sql.setStatus.run({ id, status, error })
    return get(id)!
  }

  /**
   * Stores the items, the scores and status completed together: a completed evaluation always has
   * all three, and one that failed half-way has none of its items.
   */
  const complete = inTransaction(
    db,
    (
      id: number,
      result: {
        scores: Record<string, MetricScore>
        primaryMetric: string | null
        items: readonly EvalItem[]
      }
    ): EvaluationDetail => {
      require('evaluations.complete', id)
      sql.clearItems.run(id)
      for (const item of result.items) sql.insertItem.run(itemParams(id, item))
      sql.setScores.run({ id, metrics: JSON.stringify(result.scores), primary: result.primaryMetric })
      sql.setStatus.run({ id, status: 'completed', error: null })
      return get(id)!
    }
  )

  function items(id: number, only: ItemSelection = 'all', page?: Page): EvalItemPage {
    const evaluation = require('evaluations.items', id)
    const query = sql.itemQueries[only]
    return {
      total: query.count.get({ id })!,
      items: query.page.all({ id, ...pageParams(page, -1) }).map((row) => toItem(row, evaluation.task))
    }
  }

  function allItems(id: number): EvalItem[] {
    const evaluation = require('evaluations.allItems', id)
    return sql.allItems.all({ id }).map((row) => toItem(row, evaluation.task))
  }

  return {
    create,
    get,
    list,
    /** Every completed task evaluation, oldest first (the matrix keeps the newest of each cell). */
    completed: (): EvaluationSummary[] => sql.completed.all().map(toSummary),
    /** The newest completed evaluation with this reuse key. */
    reusable: (reuseKey: string): EvaluationDetail | null => {
      const row = sql.reusable.get(reuseKey)
      return row ? toDetail(row) : null
    },
    setStatus,
    complete,
    items,
    allItems,
    /**
     * Evaluations left queued or running by a process that is gone become 'interrupted'; returns
     * their ids. Those of live processes (another app, server or CLI on this store) are theirs.
     */
    interruptOrphans(alive: (pid: number) => boolean): number[] {
      const orphans = sql.unfinished.all().filter((row) => row.owner_pid === null || !alive(row.owner_pid))
      for (const { id } of orphans) {
        sql.setStatus.run({ id, status: 'interrupted', error: 'the process evaluating it ended' })
      }
      return orphans.map((row) => row.id)
    },
    delete: (id: number): boolean => sql.delete.run(id).changes > 0
  }
}

export type EvaluationsRepo = ReturnType<typeof createEvaluationsRepo>

import type Database from 'better-sqlite3'
import type { ComparisonSummary, EvaluationSummary } from '../../../src-preload/contract'
import { StoreNotFoundError } from '../errors'
import { parseJsonObject, parseNumberRecord } from '../json'
import { NOW_SQL, inTransaction, pageParams, type Page } from './sql'

export type EvaluationStatus = 'queued' | 'running' | 'completed' | 'failed' | 'interrupted'
export type Vote = NonNullable<ComparisonSummary['vote']>

export interface NewEvaluation {
  name: string
  benchmark: string
  runId?: number | null
  checkpointId?: number | null
  baseModelId?: number | null
  config?: Record<string, unknown>
}

export interface EvaluationDetail extends EvaluationSummary {
  status: EvaluationStatus
  error: string | null
  config: Record<string, unknown>
  finishedAt: string | null
}

export interface EvaluationResultInput {
  /** Identifies the benchmark item; writing the same key again replaces the result. */
  sampleKey: string
  prompt?: string
  output?: string
  expected?: string | null
  score?: number | null
  details?: Record<string, unknown>
}

export interface EvaluationResult {
  id: number
  evaluationId: number
  sampleKey: string
  prompt: string
  output: string
  expected: string | null
  score: number | null
  details: Record<string, unknown>
}

export interface NewComparison {
  prompt: string
  evaluationAId?: number | null
  evaluationBId?: number | null
  outputA: string
  outputB: string
}

interface EvaluationRow {
  id: number
  name: string
  benchmark: string
  run_id: number | null
  checkpoint_id: number | null
  base_model_id: number | null
  config: string
  metrics: string
  status: EvaluationStatus
  error: string | null
  created_at: string
  finished_at: string | null
}

interface ResultRow {
  id: number
  evaluation_id: number
  sample_key: string
  prompt: string
  output: string
  expected: string | null
  score: number | null
  details: string
}

interface ComparisonRow {
  id: number
  prompt: string
  evaluation_a_id: number | null
  evaluation_b_id: number | null
  output_a: string
  output_b: string
  vote: Vote | null
  created_at: string
  voted_at: string | null
}

function toEvaluationSummary(row: EvaluationRow): EvaluationSummary {
  return {
    id: row.id,
    name: row.name,
    benchmark: row.benchmark,
    runId: row.run_id,
    checkpointId: row.checkpoint_id,
    baseModelId: row.base_model_id,
    metrics: parseNumberRecord(row.metrics, 'evaluations.metrics'),
    createdAt: row.created_at
  }
}

function toEvaluationDetail(row: EvaluationRow): EvaluationDetail {
  return {
    ...toEvaluationSummary(row),
    status: row.status,
    error: row.error,
    config: parseJsonObject(row.config, 'evaluations.config'),
    finishedAt: row.finished_at
  }
}

function toEvaluationResult(row: ResultRow): EvaluationResult {
  return {
    id: row.id,
    evaluationId: row.evaluation_id,
    sampleKey: row.sample_key,
    prompt: row.prompt,
    output: row.output,
    expected: row.expected,
    score: row.score,
    details: parseJsonObject(row.details, 'evaluation_results.details')
  }
}

function toComparisonSummary(row: ComparisonRow): ComparisonSummary {
  return {
    id: row.id,
    prompt: row.prompt,
    evaluationAId: row.evaluation_a_id,
    evaluationBId: row.evaluation_b_id,
    outputA: row.output_a,
    outputB: row.output_b,
    vote: row.vote,
    createdAt: row.created_at
  }
}

type ResultParams = Omit<ResultRow, 'id' | 'evaluation_id'> & { evaluationId: number }

function prepareStatements(db: Database.Database) {
  return {
    insert: db.prepare<
      Omit<EvaluationRow, 'id' | 'metrics' | 'status' | 'error' | 'created_at' | 'finished_at'>,
      { id: number }
    >(
      `INSERT INTO evaluations (name, benchmark, run_id, checkpoint_id, base_model_id, config)
       VALUES (@name, @benchmark, @run_id, @checkpoint_id, @base_model_id, @config) RETURNING id`
    ),
    get: db.prepare<[number], EvaluationRow>('SELECT * FROM evaluations WHERE id = ?'),
    list: db.prepare<{ limit: number; offset: number }, EvaluationRow>(
      'SELECT * FROM evaluations ORDER BY id DESC LIMIT @limit OFFSET @offset'
    ),
    setStatus: db.prepare<{ id: number; status: EvaluationStatus; error: string | null }>(
      `UPDATE evaluations SET status = @status, error = @error,
         finished_at = CASE WHEN @status IN ('completed', 'failed', 'interrupted') THEN ${NOW_SQL} ELSE NULL END
       WHERE id = @id`
    ),
    setMetrics: db.prepare<[string, number]>('UPDATE evaluations SET metrics = ? WHERE id = ?'),
    markActiveAsInterrupted: db.prepare<[], { id: number }>(
      `UPDATE evaluations SET status = 'interrupted', finished_at = ${NOW_SQL}
       WHERE status = 'running' RETURNING id`
    ),
    delete: db.prepare<[number]>('DELETE FROM evaluations WHERE id = ?'),

    upsertResult: db.prepare<ResultParams>(
      `INSERT INTO evaluation_results (evaluation_id, sample_key, prompt, output, expected, score, details)
       VALUES (@evaluationId, @sample_key, @prompt, @output, @expected, @score, @details)
       ON CONFLICT (evaluation_id, sample_key) DO UPDATE SET
         prompt = excluded.prompt, output = excluded.output, expected = excluded.expected,
         score = excluded.score, details = excluded.details`
    ),
    results: db.prepare<{ evaluationId: number; limit: number; offset: number }, ResultRow>(
      'SELECT * FROM evaluation_results WHERE evaluation_id = @evaluationId ORDER BY id LIMIT @limit OFFSET @offset'
    ),
    resultByKey: db.prepare<[number, string], ResultRow>(
      'SELECT * FROM evaluation_results WHERE evaluation_id = ? AND sample_key = ?'
    ),

    insertComparison: db.prepare<
      Pick<ComparisonRow, 'prompt' | 'evaluation_a_id' | 'evaluation_b_id' | 'output_a' | 'output_b'>,
      ComparisonRow
    >(
      `INSERT INTO comparisons (prompt, evaluation_a_id, evaluation_b_id, output_a, output_b)
       VALUES (@prompt, @evaluation_a_id, @evaluation_b_id, @output_a, @output_b) RETURNING *`
    ),
    getComparison: db.prepare<[number], ComparisonRow>('SELECT * FROM comparisons WHERE id = ?'),
    listComparisons: db.prepare<{ limit: number; offset: number }, ComparisonRow>(
      'SELECT * FROM comparisons ORDER BY id DESC LIMIT @limit OFFSET @offset'
    ),
    vote: db.prepare<[Vote, number]>(`UPDATE comparisons SET vote = ?, voted_at = ${NOW_SQL} WHERE id = ?`)
  }
}

export function createEvaluationsRepo(db: Database.Database) {
  const sql = prepareStatements(db)

  function get(id: number): EvaluationDetail | null {
    const row = sql.get.get(id)
    return row ? toEvaluationDetail(row) : null
  }

  function requireEvaluation(operation: string, id: number): void {
    if (!sql.get.get(id)) throw new StoreNotFoundError(`${operation}: no evaluation with id ${id}`)
  }

  /** A new evaluation in status 'queued' of a run, a checkpoint and/or a base model. */
  function create(input: NewEvaluation): EvaluationDetail {
    const { id } = sql.insert.get({
      name: input.name,
      benchmark: input.benchmark,
      run_id: input.runId ?? null,
      checkpoint_id: input.checkpointId ?? null,
      base_model_id: input.baseModelId ?? null,
      config: JSON.stringify(input.config ?? {})
    })!
    return get(id)!
  }

  /** Newest first. */
  function list(page?: Page): EvaluationSummary[] {
    return sql.list.all(pageParams(page, 100)).map(toEvaluationSummary)
  }

  function setStatus(id: number, status: EvaluationStatus, error: string | null = null): EvaluationDetail {
    requireEvaluation('evaluations.setStatus', id)
    sql.setStatus.run({ id, status, error })
    return get(id)!
  }

  /** Stores the aggregate metrics and the final status together, so a finished evaluation always has both. */
  const setResult = inTransaction(
    db,
    (
      id: number,
      metrics: Record<string, number>,
      status: EvaluationStatus = 'completed'
    ): EvaluationDetail => {
      requireEvaluation('evaluations.setResult', id)
      sql.setMetrics.run(JSON.stringify(metrics), id)
      sql.setStatus.run({ id, status, error: null })
      return get(id)!
    }
  )

  /** Writes per-item results in one transaction; returns how many were written. */
  const addResults = inTransaction(
    db,
    (evaluationId: number, rows: readonly EvaluationResultInput[]): number => {
      requireEvaluation('evaluations.addResults', evaluationId)
      for (const row of rows) {
        sql.upsertResult.run({
          evaluationId,
          sample_key: row.sampleKey,
          prompt: row.prompt ?? '',
          output: row.output ?? '',
          expected: row.expected ?? null,
          score: row.score ?? null,
          details: JSON.stringify(row.details ?? {})
        })
      }
      return rows.length
    }
  )

  /** Results in the order they were first written; every one unless a page is asked for. */
  function resultByKey(evaluationId: number, sampleKey: string): EvaluationResult | null {
    const row = sql.resultByKey.get(evaluationId, sampleKey)
    return row ? toEvaluationResult(row) : null
  }

  function results(evaluationId: number, page?: Page): EvaluationResult[] {
    return sql.results.all({ evaluationId, ...pageParams(page, -1) }).map(toEvaluationResult)
  }

  /** At startup no worker is evaluating, so evaluations left running become 'interrupted'. */
  function markRunningAsInterrupted(): number[] {
    return sql.markActiveAsInterrupted.all().map((row) => row.id)
  }

  function getComparison(id: number): ComparisonSummary | null {
    const row = sql.getComparison.get(id)
    return row ? toComparisonSummary(row) : null
  }

  function createComparison(input: NewComparison): ComparisonSummary {
    const row = sql.insertComparison.get({
      prompt: input.prompt,
      evaluation_a_id: input.evaluationAId ?? null,
      evaluation_b_id: input.evaluationBId ?? null,
      output_a: input.outputA,
      output_b: input.outputB
    })!
    return toComparisonSummary(row)
  }

  /** Records (or changes) the vote; null when there is no such comparison. */
  function vote(id: number, choice: Vote): ComparisonSummary | null {
    sql.vote.run(choice, id)
    return getComparison(id)
  }

  return {
    create,
    get,
    list,
    setStatus,
    setResult,
    addResults,
    results,
    markRunningAsInterrupted,
    delete: (id: number): boolean => sql.delete.run(id).changes > 0,
    resultByKey,
    createComparison,
    getComparison,
    listComparisons: (page?: Page): ComparisonSummary[] =>
      sql.listComparisons.all(pageParams(page, 100)).map(toComparisonSummary),
    vote
  }
}

export type EvaluationsRepo = ReturnType<typeof createEvaluationsRepo>

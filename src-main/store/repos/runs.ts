import type Database from 'better-sqlite3'
import type { MetricPoint, RunDetail, RunStatus, RunSummary } from '../../../src-preload/contract'
import { StoreConflictError, StoreNotFoundError, isSqliteError } from '../errors'
import { parseJsonObject, parseNumberRecord } from '../json'
import { NOW_SQL, inTransaction, pageParams, type Page } from './sql'

export type Checkpoint = RunDetail['checkpoints'][number]

export interface NewRun {
  name: string
  recipeId: number
  baseModelId: number
  datasetVersionId: number
  /** Everything else that determines the run (hyperparameters, recipe params, seed). */
  config: Record<string, unknown>
  /** Often known only once the run has an id; see setOutDir. */
  outDir?: string | null
}

/** A run with the columns the trainer needs beyond what the contract shows. */
export interface RunRecord extends RunDetail {
  recipeId: number
  recipeVersion: number
  outDir: string | null
}

export interface NewCheckpoint {
  step: number
  path: string
  metrics?: Record<string, number>
}

export interface MetricQuery {
  name?: string
  /** Only points with a larger step; -1 (the default) gives every point. */
  afterStep?: number
}

/**
 * Statuses in which a worker owns the run; after a restart no worker does. The SQL below spells
 * out the same list (and the finished ones: completed, failed, interrupted).
 */
const ACTIVE_STATUSES: readonly RunStatus[] = ['running', 'paused', 'stopping']

interface RunRow {
  id: number
  name: string
  recipe_id: number
  recipe_version: number
  recipe_name: string
  base_model_id: number
  dataset_version_id: number
  config: string
  status: RunStatus
  error: string | null
  out_dir: string | null
  created_at: string
  started_at: string | null
  finished_at: string | null
}

interface CheckpointRow {
  id: number
  run_id: number
  step: number
  path: string
  metrics: string
  created_at: string
}

interface MetricRow {
  step: number
  name: string
  value: number | null
}

const RUN_SELECT_SQL = `SELECT r.*, rc.name AS recipe_name FROM runs r JOIN recipes rc ON rc.id = r.recipe_id`

function toRunSummary(row: RunRow): RunSummary {
  return {
    id: row.id,
    name: row.name,
    recipe: row.recipe_name,
    status: row.status,
    error: row.error,
    baseModelId: row.base_model_id,
    datasetVersionId: row.dataset_version_id,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at
  }
}

function toCheckpoint(row: CheckpointRow): Checkpoint {
  return {
    id: row.id,
    step: row.step,
    path: row.path,
    metrics: parseNumberRecord(row.metrics, 'checkpoints.metrics'),
    createdAt: row.created_at
  }
}

function toMetricPoint(row: MetricRow): MetricPoint {
  return { step: row.step, name: row.name, value: row.value ?? Number.NaN }
}

function prepareStatements(db: Database.Database) {
  return {
    recipeVersion: db.prepare<[number], { version: number }>('SELECT version FROM recipes WHERE id = ?'),
    baseModelExists: db.prepare<[number], { id: number }>('SELECT id FROM base_models WHERE id = ?'),
    datasetVersionExists: db.prepare<[number], { id: number }>(
      'SELECT id FROM dataset_versions WHERE id = ?'
    ),
    insert: db.prepare<
      {
        name: string
        recipeId: number
        recipeVersion: number
        baseModelId: number
        datasetVersionId: number
        config: string
        outDir: string | null
      },
      { id: number }
    >(
      `INSERT INTO runs (name, recipe_id, recipe_version, base_model_id, dataset_version_id, config, out_dir)
       VALUES (@name, @recipeId, @recipeVersion, @baseModelId, @datasetVersionId, @config, @outDir)
       RETURNING id`
    ),
    get: db.prepare<[number], RunRow>(`${RUN_SELECT_SQL} WHERE r.id = ?`),
    list: db.prepare<{ limit: number; offset: number }, RunRow>(
      `${RUN_SELECT_SQL} ORDER BY r.id DESC LIMIT @limit OFFSET @offset`
    ),
    setStatus: db.prepare<{ id: number; status: RunStatus; error: string | null }>(
      `UPDATE runs SET status = @status, error = @error,
         started_at = CASE WHEN @status = 'running' THEN COALESCE(started_at, ${NOW_SQL}) ELSE started_at END,
         finished_at = CASE WHEN @status IN ('completed', 'failed', 'interrupted') THEN ${NOW_SQL} ELSE NULL END
       WHERE id = @id`
    ),
    markActiveAsInterrupted: db.prepare<[string], { id: number }>(
      `UPDATE runs SET status = 'interrupted', error = ?, finished_at = ${NOW_SQL}
       WHERE status IN ('running', 'paused', 'stopping')
       RETURNING id`
    ),
    setOutDir: db.prepare<[string, number]>('UPDATE runs SET out_dir = ? WHERE id = ?'),
    setConfig: db.prepare<[string, number]>('UPDATE runs SET config = ? WHERE id = ?'),
    delete: db.prepare<[number]>('DELETE FROM runs WHERE id = ?'),

    upsertMetric: db.prepare<{ runId: number; step: number; name: string; value: number }>(
      'INSERT OR REPLACE INTO run_metrics (run_id, step, name, value) VALUES (@runId, @step, @name, @value)'
    ),
    metrics: db.prepare<{ runId: number; name: string | null; afterStep: number }, MetricRow>(
      `SELECT step, name, value FROM run_metrics
       WHERE run_id = @runId AND step > @afterStep AND (@name IS NULL OR name = @name)
       ORDER BY step, name`
    ),
    metricNames: db.prepare<[number], { name: string }>(
      'SELECT DISTINCT name FROM run_metrics WHERE run_id = ? ORDER BY name'
    ),

    insertCheckpoint: db.prepare<
      { runId: number; step: number; path: string; metrics: string },
      CheckpointRow
    >(
      'INSERT INTO checkpoints (run_id, step, path, metrics) VALUES (@runId, @step, @path, @metrics) RETURNING *'
    ),
    checkpoints: db.prepare<[number], CheckpointRow>(
      'SELECT * FROM checkpoints WHERE run_id = ? ORDER BY step'
    ),
    latestCheckpoint: db.prepare<[number], CheckpointRow>(
      'SELECT * FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT 1'
    ),
    deleteCheckpoint: db.prepare<[number]>('DELETE FROM checkpoints WHERE id = ?')
  }
}

export function createRunsRepo(db: Database.Database) {
  const sql = prepareStatements(db)

  function requireRow(operation: string, id: number): RunRow {
    const row = sql.get.get(id)
    if (!row) throw new StoreNotFoundError(`${operation}: no run with id ${id}`)
    return row
  }

  function toRunRecord(row: RunRow): RunRecord {
    return {
      ...toRunSummary(row),
      config: parseJsonObject(row.config, 'runs.config'),
      checkpoints: sql.checkpoints.all(row.id).map(toCheckpoint),
      recipeId: row.recipe_id,
      recipeVersion: row.recipe_version,
      outDir: row.out_dir
    }
  }

  /** Named not-found errors for each input, rather than one anonymous foreign-key failure. */
  function requireInputs(run: NewRun): { recipeVersion: number } {
    const recipe = sql.recipeVersion.get(run.recipeId)
    if (!recipe) throw new StoreNotFoundError(`runs.create: no recipe with id ${run.recipeId}`)
    if (!sql.baseModelExists.get(run.baseModelId)) {
      throw new StoreNotFoundError(`runs.create: no base model with id ${run.baseModelId}`)
    }
    if (!sql.datasetVersionExists.get(run.datasetVersionId)) {
      throw new StoreNotFoundError(`runs.create: no dataset version with id ${run.datasetVersionId}`)
    }
    return { recipeVersion: recipe.version }
  }

  /** A new run in status 'queued', recording the recipe version it will use. */
  function create(run: NewRun): RunDetail {
    const { recipeVersion } = requireInputs(run)
    const { id } = sql.insert.get({
      name: run.name,
      recipeId: run.recipeId,
      recipeVersion,
      baseModelId: run.baseModelId,
      datasetVersionId: run.datasetVersionId,
      config: JSON.stringify(run.config),
      outDir: run.outDir ?? null
    })!
    return get(id)!
  }

  function get(id: number): RunDetail | null {
    const record = getRecord(id)
    if (!record) return null
    const { recipeId: _recipeId, recipeVersion: _recipeVersion, outDir: _outDir, ...detail } = record
    return detail
  }

  function getRecord(id: number): RunRecord | null {
    const row = sql.get.get(id)
    return row ? toRunRecord(row) : null
  }

  /** Newest first. */
  function list(page?: Page): RunSummary[] {
    return sql.list.all(pageParams(page, 100)).map(toRunSummary)
  }

  /**
   * Records a status change. started_at is set the first time a run runs and kept across pauses;
   * finished_at is set by a finishing status and cleared if a run is resumed.
   */
  function setStatus(id: number, status: RunStatus, error: string | null = null): RunSummary {
    requireRow('runs.setStatus', id)
    sql.setStatus.run({ id, status, error })
    return toRunSummary(requireRow('runs.setStatus', id))
  }

  function setOutDir(id: number, outDir: string): void {
    requireRow('runs.setOutDir', id)
    sql.setOutDir.run(outDir, id)
  }

  /** The resolved configuration, known only once the run has an id (its folder is named after it). */
  function setConfig(id: number, config: Record<string, unknown>): void {
    requireRow('runs.setConfig', id)
    sql.setConfig.run(JSON.stringify(config), id)
  }

  /**
   * At startup no worker owns any run, so runs left running, paused or stopping by a crash or quit
   * become 'interrupted' (resumable from their latest checkpoint). Returns their ids.
   */
  function markRunningAsInterrupted(): number[] {
    const message = 'Finetune Studio stopped while this run was active; resume it from its latest checkpoint'
    return sql.markActiveAsInterrupted.all(message).map((row) => row.id)
  }

  /** Deletes a run with its metrics, checkpoints rows and evaluations; refused while it is active. */
  function remove(id: number): boolean {
    const row = sql.get.get(id)
    if (!row) return false
    if (ACTIVE_STATUSES.includes(row.status)) {
      throw new StoreConflictError(`runs.delete: run ${id} is ${row.status}; stop it first`)
    }
    return sql.delete.run(id).changes > 0
  }

  /**
   * Writes a batch of points in one transaction (one fsync instead of one per point). A point
   * written again for the same run, metric and step replaces the old value, so a resumed run may
   * replay steps.
   */
  const appendMetrics = inTransaction(db, (runId: number, points: readonly MetricPoint[]): void => {
    requireRow('runs.appendMetrics', runId)
    for (const point of points)
      sql.upsertMetric.run({ runId, step: point.step, name: point.name, value: point.value })
  })

  function metrics(runId: number, query: MetricQuery = {}): MetricPoint[] {
    const params = { runId, name: query.name ?? null, afterStep: query.afterStep ?? -1 }
    return sql.metrics.all(params).map(toMetricPoint)
  }

  function metricNames(runId: number): string[] {
    return sql.metricNames.all(runId).map((row) => row.name)
  }

  function addCheckpoint(runId: number, checkpoint: NewCheckpoint): Checkpoint {
    requireRow('runs.addCheckpoint', runId)
    try {
      const params = {
        runId,
        step: checkpoint.step,
        path: checkpoint.path,
        metrics: JSON.stringify(checkpoint.metrics ?? {})
      }
      return toCheckpoint(sql.insertCheckpoint.get(params)!)
    } catch (error) {
      if (isSqliteError(error, 'SQLITE_CONSTRAINT_UNIQUE')) {
        throw new StoreConflictError(
          `runs.addCheckpoint: run ${runId} already has a checkpoint at step ${checkpoint.step}`
        )
      }
      throw error
    }
  }

  function latestCheckpoint(runId: number): Checkpoint | null {
    const row = sql.latestCheckpoint.get(runId)
    return row ? toCheckpoint(row) : null
  }

  return {
    create,
    get,
    getRecord,
    list,
    setStatus,
    setOutDir,
    setConfig,
    markRunningAsInterrupted,
    delete: remove,
    appendMetrics,
    metrics,
    metricNames,
    addCheckpoint,
    checkpoints: (runId: number): Checkpoint[] => sql.checkpoints.all(runId).map(toCheckpoint),
    latestCheckpoint,
    /** Forgets a checkpoint row (retention); deleting its files is the caller's job. */
    deleteCheckpoint: (id: number): boolean => sql.deleteCheckpoint.run(id).changes > 0
  }
}

export type RunsRepo = ReturnType<typeof createRunsRepo>

/**
 * The runs table: a run's inputs and configuration, its status, the API context that owns it
 * (queues or trains it) and the control requests left for that owner. `store.runs` also carries
 * the run's checkpoints (checkpoints.ts) and what it reports as it trains (run-reports.ts).
 */
import type Database from 'better-sqlite3'
import type {
  Device,
  RunCheckpoint,
  RunControl,
  RunDetail,
  RunProgress,
  RunSegment,
  RunStatus,
  RunSummary
} from '../../../src-preload/contract'
import { StoreConflictError, StoreNotFoundError } from '../errors'
import { parseJsonObject } from '../json'
import { ownerAlive } from '../owner'
import { createCheckpointsRepo } from './checkpoints'
import { createRunReportsRepo } from './run-reports'
import { NOW_SQL, inTransaction, pageParams, type Page } from './sql'

export type Checkpoint = RunCheckpoint

export interface NewRun {
  name: string
  recipeId: number
  baseModelId: number
  /** null for a run trained from a data file (its config names the file and its hash). */
  datasetVersionId: number | null
  /** Everything else that determines the run (hyperparameters, recipe params, seed). */
  config: Record<string, unknown>
  /** Often known only once the run has an id; see setOutDir. */
  outDir?: string | null
  device?: Device
  /** The API context that queues it (see claim). */
  owner?: RunOwner
}

/** An API context that queues or trains runs: a random id per context, and its process. */
export interface RunOwner {
  id: string
  pid: number
}

/** Who owns a claimed run, as the liveness check needs it (null: a row no owner ever claimed). */
export interface ClaimedRun {
  id: number
  status: RunStatus
  device: Device
  ownerId: string | null
  ownerPid: number | null
  heartbeatAt: string | null
}

/** A run with the columns the trainer needs beyond what the contract shows. */
export interface RunRecord extends RunDetail {
  recipeId: number
  recipeVersion: number
  /** The API context that owns the run; null when none does. */
  ownerId: string | null
}

/** Statuses in which a training process exists for the run. */
export const ACTIVE_STATUSES: readonly RunStatus[] = ['running', 'paused', 'stopping']
/** Statuses a run ends in; the SQL below spells out the same list. */
export const FINISHED_STATUSES: readonly RunStatus[] = [
  'stopped',
  'completed',
  'failed',
  'cancelled',
  'interrupted'
]
const FINISHED_SQL = `('stopped', 'completed', 'failed', 'cancelled', 'interrupted')`
const CLAIMED_SQL = `('queued', 'running', 'paused', 'stopping')`

interface RunRow {
  id: number
  name: string
  recipe_id: number
  recipe_version: number
  recipe_name: string
  base_model_id: number
  dataset_version_id: number | null
  config: string
  status: RunStatus
  error: string | null
  out_dir: string | null
  device: Device
  owner_id: string | null
  owner_pid: number | null
  heartbeat_at: string | null
  control: RunControl | null
  progress: string | null
  created_at: string
  started_at: string | null
  finished_at: string | null
}

interface ClaimedRunRow {
  id: number
  status: RunStatus
  device: Device
  owner_id: string | null
  owner_pid: number | null
  heartbeat_at: string | null
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
    device: row.device,
    progress: row.progress === null ? null : (JSON.parse(row.progress) as RunProgress),
    pendingControl: row.control,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at
  }
}

/** The segments a run's config records (see RunSegment). */
function segmentsOf(config: Record<string, unknown>): RunSegment[] {
  return Array.isArray(config.segments) ? (config.segments as RunSegment[]) : []
}

function prepareStatements(db: Database.Database) {
  return {
    recipeVersion: db.prepare<[number], { version: number }>('SELECT version FROM recipes WHERE id = ?'),
    // A model taken off the list (models.remove) starts no new run.
    baseModelListed: db.prepare<[number], { id: number }>(
      'SELECT id FROM base_models WHERE id = ? AND removed_at IS NULL'
    ),
    datasetVersionExists: db.prepare<[number], { id: number }>(
      'SELECT id FROM dataset_versions WHERE id = ?'
    ),
    insert: db.prepare<
      {
        name: string
        recipeId: number
        recipeVersion: number
        baseModelId: number
        datasetVersionId: number | null
        config: string
        outDir: string | null
        device: Device
        ownerId: string | null
        ownerPid: number | null
      },
      { id: number }
    >(
      `INSERT INTO runs (name, recipe_id, recipe_version, base_model_id, dataset_version_id, config, out_dir,
                         device, owner_id, owner_pid, heartbeat_at)
       VALUES (@name, @recipeId, @recipeVersion, @baseModelId, @datasetVersionId, @config, @outDir,
               @device, @ownerId, @ownerPid, CASE WHEN @ownerId IS NULL THEN NULL ELSE ${NOW_SQL} END)
       RETURNING id`
    ),
    get: db.prepare<[number], RunRow>(`${RUN_SELECT_SQL} WHERE r.id = ?`),
    list: db.prepare<{ limit: number; offset: number }, RunRow>(
      `${RUN_SELECT_SQL} ORDER BY r.id DESC LIMIT @limit OFFSET @offset`
    ),
    // A finished run has no owner and no pending control request.
    setStatus: db.prepare<{ id: number; status: RunStatus; error: string | null }>(
      `UPDATE runs SET status = @status, error = @error,
         started_at = CASE WHEN @status = 'running' THEN COALESCE(started_at, ${NOW_SQL}) ELSE started_at END,
         finished_at = CASE WHEN @status IN ${FINISHED_SQL} THEN ${NOW_SQL} ELSE NULL END,
         owner_id = CASE WHEN @status IN ${FINISHED_SQL} THEN NULL ELSE owner_id END,
         owner_pid = CASE WHEN @status IN ${FINISHED_SQL} THEN NULL ELSE owner_pid END,
         control = CASE WHEN @status IN ${FINISHED_SQL} THEN NULL ELSE control END
       WHERE id = @id`
    ),
    interruptIfOwnedBy: db.prepare<{ id: number; ownerId: string | null; error: string }, { id: number }>(
      `UPDATE runs SET status = 'interrupted', error = @error, finished_at = ${NOW_SQL},
         owner_id = NULL, owner_pid = NULL, control = NULL
       WHERE id = @id AND owner_id IS @ownerId AND status IN ${CLAIMED_SQL}
       RETURNING id`
    ),
    claim: db.prepare<{ id: number; ownerId: string; ownerPid: number }>(
      `UPDATE runs SET owner_id = @ownerId, owner_pid = @ownerPid, heartbeat_at = ${NOW_SQL}, control = NULL
       WHERE id = @id`
    ),
    heartbeat: db.prepare<[string]>(
      `UPDATE runs SET heartbeat_at = ${NOW_SQL} WHERE owner_id = ? AND status IN ${CLAIMED_SQL}`
    ),
    claimed: db.prepare<[], ClaimedRunRow>(
      `SELECT id, status, device, owner_id, owner_pid, heartbeat_at FROM runs
       WHERE status IN ${CLAIMED_SQL} ORDER BY id`
    ),
    setControl: db.prepare<{ id: number; control: RunControl | null }>(
      'UPDATE runs SET control = @control WHERE id = @id'
    ),
    pendingControls: db.prepare<[string], { id: number; control: RunControl }>(
      'SELECT id, control FROM runs WHERE owner_id = ? AND control IS NOT NULL ORDER BY id'
    ),
    setProgress: db.prepare<[string, number]>('UPDATE runs SET progress = ? WHERE id = ?'),
    setOutDir: db.prepare<[string, number]>('UPDATE runs SET out_dir = ? WHERE id = ?'),
    outDirs: db.prepare<[], string>('SELECT out_dir FROM runs WHERE out_dir IS NOT NULL ORDER BY id').pluck(),
    setConfig: db.prepare<[string, number]>('UPDATE runs SET config = ? WHERE id = ?'),
    delete: db.prepare<[number]>('DELETE FROM runs WHERE id = ?')
  }
}

export function createRunsRepo(db: Database.Database) {
  const sql = prepareStatements(db)

  function requireRow(operation: string, id: number): RunRow {
    const row = sql.get.get(id)
    if (!row) throw new StoreNotFoundError(`${operation}: no run with id ${id}`)
    return row
  }

  const checkpoints = createCheckpointsRepo(db, requireRow)

  function toRunRecord(row: RunRow): RunRecord {
    const config = parseJsonObject(row.config, 'runs.config')
    return {
      ...toRunSummary(row),
      config,
      checkpoints: checkpoints.checkpoints(row.id),
      segments: segmentsOf(config),
      outDir: row.out_dir,
      owner:
        row.owner_pid === null
          ? null
          : {
              pid: row.owner_pid,
              heartbeatAt: row.heartbeat_at,
              alive: ownerAlive(row.owner_pid, row.heartbeat_at)
            },
      recipeId: row.recipe_id,
      recipeVersion: row.recipe_version,
      ownerId: row.owner_id
    }
  }

  /** Named not-found errors for each input, rather than one anonymous foreign-key failure. */
  function requireInputs(run: NewRun): { recipeVersion: number } {
    const recipe = sql.recipeVersion.get(run.recipeId)
    if (!recipe) throw new StoreNotFoundError(`runs.create: no recipe with id ${run.recipeId}`)
    if (!sql.baseModelListed.get(run.baseModelId)) {
      throw new StoreNotFoundError(
        `runs.create: no base model with id ${run.baseModelId} (or it was removed from the list)`
      )
    }
    if (run.datasetVersionId !== null && !sql.datasetVersionExists.get(run.datasetVersionId)) {
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
      outDir: run.outDir ?? null,
      device: run.device ?? 'cpu',
      ownerId: run.owner?.id ?? null,
      ownerPid: run.owner?.pid ?? null
    })!
    return get(id)!
  }

  /** The run without its config and checkpoints (cheap enough to poll). */
  function getSummary(id: number): RunSummary | null {
    const row = sql.get.get(id)
    return row ? toRunSummary(row) : null
  }

  function get(id: number): RunDetail | null {
    const record = getRecord(id)
    if (!record) return null
    const { recipeId: _recipeId, recipeVersion: _recipeVersion, ownerId: _ownerId, ...detail } = record
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

  /** The folder of every run that has one. */
  function outDirs(): string[] {
    return sql.outDirs.all()
  }

  /** The resolved configuration, known only once the run has an id (its folder is named after it). */
  function setConfig(id: number, config: Record<string, unknown>): void {
    requireRow('runs.setConfig', id)
    sql.setConfig.run(JSON.stringify(config), id)
  }

  /** `owner` takes the run over (queues or trains it from now on); any pending control request is dropped. */
  function claim(id: number, owner: RunOwner): void {
    requireRow('runs.claim', id)
    sql.claim.run({ id, ownerId: owner.id, ownerPid: owner.pid })
  }

  /** Refreshes the heartbeat of every run `ownerId` queues or trains. */
  function heartbeat(ownerId: string): void {
    sql.heartbeat.run(ownerId)
  }

  /** Every queued or active run with its owner, oldest first (the queue order). */
  function claimed(): ClaimedRun[] {
    return sql.claimed.all().map((row) => ({
      id: row.id,
      status: row.status,
      device: row.device,
      ownerId: row.owner_id,
      ownerPid: row.owner_pid,
      heartbeatAt: row.heartbeat_at
    }))
  }

  /**
   * Marks a queued or active run interrupted, if `ownerId` still owns it (another process may have
   * taken it over or finished it meanwhile). Returns whether it did.
   */
  function interruptIfOwnedBy(id: number, ownerId: string | null, error: string): boolean {
    return sql.interruptIfOwnedBy.all({ id, ownerId, error }).length > 0
  }

  /** Leaves a control request for the run's owner (null clears it). */
  function setControl(id: number, control: RunControl | null): void {
    requireRow('runs.setControl', id)
    sql.setControl.run({ id, control })
  }

  /** The control requests waiting for `ownerId`, cleared as they are read (in one transaction). */
  const takeControls = inTransaction(db, (ownerId: string): { id: number; control: RunControl }[] => {
    const pending = sql.pendingControls.all(ownerId)
    for (const { id } of pending) sql.setControl.run({ id, control: null })
    return pending
  })

  function setProgress(id: number, progress: RunProgress): void {
    sql.setProgress.run(JSON.stringify(progress), id)
  }

  /**
   * Deletes a run with its metrics, checkpoint rows and logs; refused while it is active, or queued
   * by an owner (a queued row nobody has claimed yet is still being set up, and may be dropped).
   */
  function remove(id: number): boolean {
    const row = sql.get.get(id)
    if (!row) return false
    if (ACTIVE_STATUSES.includes(row.status) || (row.status === 'queued' && row.owner_id !== null)) {
      throw new StoreConflictError(`runs.delete: run ${id} is ${row.status}; stop or cancel it first`)
    }
    return sql.delete.run(id).changes > 0
  }

  return {
    create,
    get,
    getSummary,
    getRecord,
    list,
    setStatus,
    setOutDir,
    outDirs,
    setConfig,
    claim,
    heartbeat,
    claimed,
    interruptIfOwnedBy,
    setControl,
    takeControls,
    setProgress,
    delete: remove,
    ...checkpoints,
    ...createRunReportsRepo(db, requireRow)
  }
}

export type RunsRepo = ReturnType<typeof createRunsRepo>

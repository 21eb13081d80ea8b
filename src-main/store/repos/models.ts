import type Database from 'better-sqlite3'
import type { ModelSummary, RunStatus } from '../../../src-preload/contract'
import { StoreConflictError } from '../errors'
import { parseJsonObject } from '../json'
import { ACTIVE_STATUSES } from './runs'
import { inTransaction } from './sql'

export interface ModelRegistration {
  name: string
  /** The model folder; the key a model is known by (registering it again updates it). */
  path: string
  architecture: string
  parameterCount: number
  dtype: string
  contentHash: string
  /** The HF config.json as read. */
  config: Record<string, unknown>
}

interface ModelRow {
  id: number
  name: string
  path: string
  architecture: string
  parameter_count: number
  dtype: string
  content_hash: string
  config: string
  created_at: string
  removed_at: string | null
}

type ModelParams = Omit<ModelRow, 'id' | 'created_at' | 'removed_at'>

/** A run trained from a model, as the model's page lists it. */
export interface ModelRunRow {
  id: number
  name: string
  status: RunStatus
  createdAt: string
}

/** A run in these statuses will still read its base model's files. */
const UNFINISHED_STATUSES: readonly RunStatus[] = ['queued', ...ACTIVE_STATUSES]

function toModelSummary(row: ModelRow): ModelSummary {
  return {
    id: row.id,
    name: row.name,
    path: row.path,
    architecture: row.architecture,
    parameterCount: row.parameter_count,
    dtype: row.dtype,
    contentHash: row.content_hash,
    createdAt: row.created_at
  }
}

function prepareStatements(db: Database.Database) {
  return {
    upsert: db.prepare<ModelParams, { id: number }>(
      `INSERT INTO base_models (name, path, architecture, parameter_count, dtype, content_hash, config)
       VALUES (@name, @path, @architecture, @parameter_count, @dtype, @content_hash, @config)
       ON CONFLICT (path) DO UPDATE SET
         name = excluded.name, architecture = excluded.architecture,
         parameter_count = excluded.parameter_count, dtype = excluded.dtype,
         content_hash = excluded.content_hash, config = excluded.config, removed_at = NULL
       RETURNING id`
    ),
    list: db.prepare<[], ModelRow>('SELECT * FROM base_models WHERE removed_at IS NULL ORDER BY name, id'),
    get: db.prepare<[number], ModelRow>('SELECT * FROM base_models WHERE id = ?'),
    getByPath: db.prepare<[string], ModelRow>('SELECT * FROM base_models WHERE path = ?'),
    runs: db.prepare<[number], ModelRunRow>(
      `SELECT id, name, status, created_at AS createdAt FROM runs WHERE base_model_id = ? ORDER BY id DESC`
    ),
    markRemoved: db.prepare<[number]>(
      `UPDATE base_models SET removed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
       WHERE id = ? AND removed_at IS NULL`
    )
  }
}

export function createModelsRepo(db: Database.Database) {
  const sql = prepareStatements(db)

  function get(id: number): ModelSummary | null {
    const row = sql.get.get(id)
    return row ? toModelSummary(row) : null
  }

  /** Adds a base model, or refreshes the one already registered at the same path (keeping its id). */
  function register(model: ModelRegistration): ModelSummary {
    const { id } = sql.upsert.get({
      name: model.name,
      path: model.path,
      architecture: model.architecture,
      parameter_count: model.parameterCount,
      dtype: model.dtype,
      content_hash: model.contentHash,
      config: JSON.stringify(model.config)
    })!
    return get(id)!
  }

  function getByPath(path: string): ModelSummary | null {
    const row = sql.getByPath.get(path)
    return row ? toModelSummary(row) : null
  }

  /** The HF config the model was registered with; null if there is no such model. */
  function getConfig(id: number): Record<string, unknown> | null {
    const row = sql.get.get(id)
    return row ? parseJsonObject(row.config, 'base_models.config') : null
  }

  /** Whether the model is registered and not removed: what a new run may start from. */
  function isListed(id: number): boolean {
    const row = sql.get.get(id)
    return row !== undefined && row.removed_at === null
  }

  /**
   * Takes the model off the list (never its files, never its row: migration 0011 says why); false
   * when it is not listed. Refused while a run that trains from it is queued or has a process, so a
   * model never disappears under a run that still reads it.
   */
  const remove = inTransaction(db, (id: number): boolean => {
    const busy = sql.runs.all(id).filter((run) => UNFINISHED_STATUSES.includes(run.status))
    if (busy.length > 0) {
      const runs = busy.map((run) => `${run.id} "${run.name}" (${run.status})`).join(', ')
      throw new StoreConflictError(
        `models.remove: base model ${id} is used by run${busy.length > 1 ? 's' : ''} ${runs}; ` +
          'wait for them to finish or cancel them first'
      )
    }
    return sql.markRemoved.run(id).changes > 0
  })

  return {
    register,
    list: (): ModelSummary[] => sql.list.all().map(toModelSummary),
    get,
    getByPath,
    getConfig,
    isListed,
    /** Every run trained from the model, newest first. */
    runsOf: (id: number): ModelRunRow[] => sql.runs.all(id),
    remove
  }
}

export type ModelsRepo = ReturnType<typeof createModelsRepo>

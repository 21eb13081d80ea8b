import type Database from 'better-sqlite3'
import type { ModelSummary } from '../../../src-preload/contract'
import { StoreConflictError, isSqliteError } from '../errors'
import { parseJsonObject } from '../json'

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
}

type ModelParams = Omit<ModelRow, 'id' | 'created_at'>

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
         content_hash = excluded.content_hash, config = excluded.config
       RETURNING id`
    ),
    list: db.prepare<[], ModelRow>('SELECT * FROM base_models ORDER BY name, id'),
    get: db.prepare<[number], ModelRow>('SELECT * FROM base_models WHERE id = ?'),
    getByPath: db.prepare<[string], ModelRow>('SELECT * FROM base_models WHERE path = ?'),
    delete: db.prepare<[number]>('DELETE FROM base_models WHERE id = ?')
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

  /** Removes the registration (never the files); refused while a run was trained from it. */
  function remove(id: number): boolean {
    try {
      return sql.delete.run(id).changes > 0
    } catch (error) {
      if (isSqliteError(error, 'SQLITE_CONSTRAINT_FOREIGNKEY')) {
        throw new StoreConflictError(
          `models.delete: base model ${id} was used by runs; delete those runs first`
        )
      }
      throw error
    }
  }

  return {
    register,
    list: (): ModelSummary[] => sql.list.all().map(toModelSummary),
    get,
    getByPath,
    getConfig,
    delete: remove
  }
}

export type ModelsRepo = ReturnType<typeof createModelsRepo>

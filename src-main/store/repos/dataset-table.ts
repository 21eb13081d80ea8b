/**
 * The datasets table: a dataset's name and description, and its summary (sample and version
 * counts, latest version). A dataset an import is still creating (import_heartbeat_at set) does
 * not exist yet for anyone else, so every read here leaves it out.
 */
import type Database from 'better-sqlite3'
import type { DatasetSummary } from '../../../src-preload/contract'
import { StoreConflictError, StoreNotFoundError, isSqliteError } from '../errors'
import { NOW_SQL } from './sql'

interface DatasetSummaryRow {
  id: number
  name: string
  description: string
  created_at: string
  sample_count: number
  version_count: number
  latest_id: number | null
  latest_version: number | null
  latest_hash: string | null
  latest_count: number | null
}

const DATASET_SUMMARY_SQL = `
  SELECT d.id, d.name, d.description, d.created_at,
    (SELECT COUNT(*) FROM samples WHERE dataset_id = d.id AND deleted_at IS NULL) AS sample_count,
    (SELECT COUNT(*) FROM dataset_versions WHERE dataset_id = d.id) AS version_count,
    v.id AS latest_id, v.version AS latest_version, v.content_hash AS latest_hash,
    v.sample_count AS latest_count
  FROM datasets d
  LEFT JOIN dataset_versions v
    ON v.id = (SELECT id FROM dataset_versions WHERE dataset_id = d.id ORDER BY version DESC LIMIT 1)
  WHERE d.import_heartbeat_at IS NULL`

function prepareStatements(db: Database.Database) {
  return {
    insert: db.prepare<{ name: string; description: string }, { id: number }>(
      'INSERT INTO datasets (name, description) VALUES (@name, @description) RETURNING id'
    ),
    list: db.prepare<[], DatasetSummaryRow>(`${DATASET_SUMMARY_SQL} ORDER BY d.name COLLATE NOCASE, d.id`),
    get: db.prepare<[number], DatasetSummaryRow>(`${DATASET_SUMMARY_SQL} AND d.id = ?`),
    // Cheaper than the summary (which counts the samples) when only existence matters.
    exists: db
      .prepare<[number], number>('SELECT 1 FROM datasets WHERE id = ? AND import_heartbeat_at IS NULL')
      .pluck(),
    rename: db.prepare<[string, number]>(
      `UPDATE datasets SET name = ?, updated_at = ${NOW_SQL} WHERE id = ?`
    ),
    describe: db.prepare<[string, number]>(
      `UPDATE datasets SET description = ?, updated_at = ${NOW_SQL} WHERE id = ?`
    ),
    touch: db.prepare<[number]>(`UPDATE datasets SET updated_at = ${NOW_SQL} WHERE id = ?`),
    delete: db.prepare<[number]>('DELETE FROM datasets WHERE id = ?')
  }
}

function toDatasetSummary(row: DatasetSummaryRow): DatasetSummary {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    createdAt: row.created_at,
    sampleCount: row.sample_count,
    versionCount: row.version_count,
    latestVersion:
      row.latest_id === null
        ? null
        : {
            id: row.latest_id,
            version: row.latest_version as number,
            contentHash: row.latest_hash as string,
            sampleCount: row.latest_count as number
          }
  }
}

export function createDatasetTable(db: Database.Database) {
  const statements = prepareStatements(db)

  function get(id: number): DatasetSummary | null {
    const row = statements.get.get(id)
    return row ? toDatasetSummary(row) : null
  }

  function exists(id: number): boolean {
    return statements.exists.get(id) !== undefined
  }

  /** Throws the store's not-found error, naming the operation, unless the dataset exists. */
  function requireDataset(operation: string, id: number): void {
    if (!exists(id)) throw new StoreNotFoundError(`${operation}: no dataset with id ${id}`)
  }

  function rethrowDuplicateName(operation: string, name: string, error: unknown): never {
    if (isSqliteError(error, 'SQLITE_CONSTRAINT_UNIQUE')) {
      throw new StoreConflictError(`${operation}: a dataset named "${name}" already exists`)
    }
    throw error
  }

  function create(input: { name: string; description?: string }): DatasetSummary {
    try {
      const { id } = statements.insert.get({ name: input.name, description: input.description ?? '' })!
      return get(id)!
    } catch (error) {
      return rethrowDuplicateName('datasets.create', input.name, error)
    }
  }

  function rename(id: number, name: string): DatasetSummary {
    requireDataset('datasets.rename', id)
    try {
      statements.rename.run(name, id)
    } catch (error) {
      rethrowDuplicateName('datasets.rename', name, error)
    }
    return get(id)!
  }

  function setDescription(id: number, description: string): DatasetSummary {
    requireDataset('datasets.setDescription', id)
    statements.describe.run(description, id)
    return get(id)!
  }

  /** Deletes the dataset with its samples and versions; refused while a run uses one of its versions. */
  function remove(id: number): boolean {
    try {
      return statements.delete.run(id).changes > 0
    } catch (error) {
      if (isSqliteError(error, 'SQLITE_CONSTRAINT_FOREIGNKEY')) {
        throw new StoreConflictError(
          `datasets.delete: dataset ${id} has versions that runs were trained on; delete those runs first`
        )
      }
      throw error
    }
  }

  return {
    create,
    list: (): DatasetSummary[] => statements.list.all().map(toDatasetSummary),
    get,
    exists,
    requireDataset,
    rename,
    setDescription,
    /** Marks the dataset changed now (its samples or versions were). */
    touch: (id: number): void => void statements.touch.run(id),
    delete: remove
  }
}

export type DatasetTable = ReturnType<typeof createDatasetTable>

import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type Database from 'better-sqlite3'
import { openDatabase } from './db'
import { DATABASE_FILE } from './location'
import { createDatasetsRepo, type DatasetsRepo } from './repos/datasets'
import { createEvaluationsRepo, type EvaluationsRepo } from './repos/evaluations'
import { createModelsRepo, type ModelsRepo } from './repos/models'
import { createRecipesRepo, type RecipesRepo } from './repos/recipes'
import { createRunsRepo, type RunsRepo } from './repos/runs'
import { createSearchIndexRepo, type SearchIndexRepo } from './repos/search-index'

export interface Store {
  /** The store folder: the database and every artifact it points at. */
  dir: string
  db: Database.Database
  datasets: DatasetsRepo
  models: ModelsRepo
  recipes: RecipesRepo
  runs: RunsRepo
  evaluations: EvaluationsRepo
  /** The full-text index's backlog of samples imported but not yet searchable. */
  searchIndex: SearchIndexRepo
  close(): void
}

/**
 * Opens the store in `dir` (created if missing), migrating its database to the latest schema.
 * Each process (main, job worker) opens its own; WAL lets them share the file.
 */
export function openStore(dir: string): Store {
  mkdirSync(dir, { recursive: true })
  const db = openDatabase(join(dir, DATABASE_FILE))
  try {
    return {
      dir,
      db,
      datasets: createDatasetsRepo(db),
      models: createModelsRepo(db),
      recipes: createRecipesRepo(db),
      runs: createRunsRepo(db),
      evaluations: createEvaluationsRepo(db),
      searchIndex: createSearchIndexRepo(db),
      close: () => db.close()
    }
  } catch (error) {
    db.close()
    throw error
  }
}

export { DATABASE_FILE, resolveStoreDir } from './location'
export { LATEST_SCHEMA_VERSION, SchemaTooNewError } from './db'
export { StoreConflictError, StoreNotFoundError } from './errors'

import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { removeAbandonedImports } from './abandoned-imports'
import { openDatabase } from './db'
import { DATABASE_FILE } from './location'
import { createArenaRepo, type ArenaRepo } from './repos/arena'
import { createDatasetsRepo, type DatasetsRepo } from './repos/datasets'
import { createEvaluationsRepo, type EvaluationsRepo } from './repos/evaluations'
import { createExportsRepo, type ExportsRepo } from './repos/exports'
import { createModelFoldersRepo, type ModelFoldersRepo } from './repos/model-folders'
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
  /** Folders model discovery looks in besides the HF cache. */
  modelFolders: ModelFoldersRepo
  recipes: RecipesRepo
  runs: RunsRepo
  evaluations: EvaluationsRepo
  arena: ArenaRepo
  /** Weights and dataset files written for other tools, with what they came from. */
  exports: ExportsRepo
  /** The full-text index's backlog of samples imported but not yet searchable. */
  searchIndex: SearchIndexRepo
  close(): void
}

/**
 * Opens the store in `dir` (created if missing), migrating its database to the latest schema, and
 * removes what killed imports left in it (see abandoned-imports.ts). Each process (main, job
 * worker) opens its own; WAL lets them share the file.
 */
export function openStore(dir: string): Store {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, DATABASE_FILE)
  const db = openDatabase(file)
  try {
    removeKilledImports(db, file)
    return {
      dir,
      db,
      datasets: createDatasetsRepo(db),
      models: createModelsRepo(db),
      modelFolders: createModelFoldersRepo(db),
      recipes: createRecipesRepo(db),
      runs: createRunsRepo(db),
      evaluations: createEvaluationsRepo(db),
      arena: createArenaRepo(db),
      exports: createExportsRepo(db),
      searchIndex: createSearchIndexRepo(db),
      close: () => db.close()
    }
  } catch (error) {
    db.close()
    throw error
  }
}

/**
 * Upkeep must not keep a store from opening: on a full disk or a read-only copy the rows stay, and
 * the next open tries again.
 */
function removeKilledImports(db: Database.Database, file: string): void {
  try {
    removeAbandonedImports(db)
  } catch (error) {
    if (!(error instanceof Database.SqliteError)) throw error
    console.warn(`openStore: ${file}: the rows of killed imports stay for now: ${error.message}`)
  }
}

export { DATABASE_FILE, resolveStoreDir } from './location'
export { LATEST_SCHEMA_VERSION, SchemaTooNewError } from './db'
export { StoreConflictError, StoreNotFoundError } from './errors'

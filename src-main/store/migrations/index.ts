import type Database from 'better-sqlite3'
import * as datasets from './0001-datasets'
import * as modelsRuns from './0002-models-runs'
import * as evaluations from './0003-evaluations'
import * as datasetCuration from './0004-dataset-curation'
import * as runControl from './0005-run-control'
import * as searchBacklog from './0006-search-backlog'
import * as importOwner from './0007-import-owner'
import * as evaluationTasks from './0008-evaluation-tasks'
import * as searchRawText from './0009-search-raw-text'
import * as exportsTable from './0010-exports'
import * as modelLibrary from './0011-model-library'

export interface Migration {
  version: number
  name: string
  up(db: Database.Database): void
}

/** Every migration in order; version k sits at index k − 1 (a test holds this). */
export const MIGRATIONS: readonly Migration[] = [
  { version: datasets.version, name: '0001-datasets', up: datasets.updateToSchemaVersion1 },
  { version: modelsRuns.version, name: '0002-models-runs', up: modelsRuns.updateToSchemaVersion2 },
  { version: evaluations.version, name: '0003-evaluations', up: evaluations.updateToSchemaVersion3 },
  {
    version: datasetCuration.version,
    name: '0004-dataset-curation',
    up: datasetCuration.updateToSchemaVersion4
  },
  { version: runControl.version, name: '0005-run-control', up: runControl.updateToSchemaVersion5 },
  { version: searchBacklog.version, name: '0006-search-backlog', up: searchBacklog.updateToSchemaVersion6 },
  { version: importOwner.version, name: '0007-import-owner', up: importOwner.updateToSchemaVersion7 },
  {
    version: evaluationTasks.version,
    name: '0008-evaluation-tasks',
    up: evaluationTasks.updateToSchemaVersion8
  },
  { version: searchRawText.version, name: '0009-search-raw-text', up: searchRawText.updateToSchemaVersion9 },
  { version: exportsTable.version, name: '0010-exports', up: exportsTable.updateToSchemaVersion10 },
  { version: modelLibrary.version, name: '0011-model-library', up: modelLibrary.updateToSchemaVersion11 }
]

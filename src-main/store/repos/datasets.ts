/**
 * The datasets repository, `store.datasets`: one object over the tables that hold datasets,
 * composed from one module per table group:
 *
 *   dataset-table.ts     datasets: names, descriptions, summaries
 *   samples.ts           samples and sample_revisions: adding, editing, history, undo, deletion
 *   sample-labels.ts     tags, ratings, splits and deletion of many samples at once
 *   sample-browse.ts     the samples table's windows, ids and detail (SQL built in sample-query.ts)
 *   dataset-versions.ts  dataset_versions and dataset_version_samples: frozen snapshots
 *   dataset-stats.ts     counts and statistics, with sample_token_counts
 *   duplicates.ts        exact duplicates, and near_duplicate_searches and near_duplicate_members
 */
import type Database from 'better-sqlite3'
import { createDatasetStatsRepo } from './dataset-stats'
import { createDatasetTable } from './dataset-table'
import { createDatasetVersionsRepo } from './dataset-versions'
import { createDuplicatesRepo } from './duplicates'
import { createSampleBrowser } from './sample-browse'
import { createSampleLabelsRepo } from './sample-labels'
import { createSamplesRepo } from './samples'

export function createDatasetsRepo(db: Database.Database) {
  const { requireDataset, touch, ...datasetRows } = createDatasetTable(db)
  const guard = { requireDataset, touch }
  const browser = createSampleBrowser(db, guard)
  const samples = createSamplesRepo(db, { datasets: guard, sampleDetail: browser.sampleDetail })
  return {
    ...datasetRows,
    ...samples,
    ...createSampleLabelsRepo(db, guard, samples),
    ...browser,
    ...createDatasetVersionsRepo(db, guard),
    ...createDatasetStatsRepo(db, { get: datasetRows.get, requireDataset }),
    ...createDuplicatesRepo(db, guard)
  }
}

export type DatasetsRepo = ReturnType<typeof createDatasetsRepo>

/**
 * The dataset job kinds: long dataset work runs in a job worker, which opens its own connection
 * to the store (WAL lets it read while the main thread serves the UI) and answers with plain data.
 */
import { openStore, type Store } from '../store'
import type { JobContext, JobKind } from '../jobs/protocol'
import { importFile, type ImportOutcome, type ImportRequest } from './import'
import type { MinHashOptions } from './minhash'
import { indexSearchBacklog } from './search-index'
import {
  assignDatasetSplits,
  bulkEdit,
  countTokens,
  exportSamples,
  findNearDuplicates,
  preflight,
  type BulkEditRequest,
  type ExportOutcome,
  type ExportRequest,
  type PreflightOutcome,
  type SplitRequest
} from './work'

/** Every dataset job names the store folder it works on. */
export interface StoreJobInput {
  storeDir: string
}

async function withStore<T>(storeDir: string, body: (store: Store) => Promise<T> | T): Promise<T> {
  const store = openStore(storeDir)
  try {
    return await body(store)
  } finally {
    store.close()
  }
}

function throttledProgress(ctx: JobContext): (done: number, total: number, message: string) => void {
  let last = 0
  return (done, total, message) => {
    const now = Date.now()
    if (now - last < 100 && done < total) return
    last = now
    ctx.progress(done, total, message)
  }
}

export const datasetImportJob: JobKind<StoreJobInput & ImportRequest, ImportOutcome> = {
  kind: 'dataset.import',
  summary: 'Import a file into a dataset',
  run(input, ctx) {
    const progress = throttledProgress(ctx)
    return withStore(input.storeDir, (store) =>
      importFile(store, input, {
        signal: ctx.signal,
        onProgress: (p) => progress(p.done, p.total, `${p.rows} rows read`)
      })
    )
  }
}

export const SEARCH_INDEX_JOB = 'dataset.search-index'

export const datasetSearchIndexJob: JobKind<StoreJobInput, { indexed: number }> = {
  kind: SEARCH_INDEX_JOB,
  summary: 'Index imported samples for full-text search',
  run(input, ctx) {
    return withStore(input.storeDir, async (store) => ({
      indexed: await indexSearchBacklog(store, { signal: ctx.signal, onProgress: throttledProgress(ctx) })
    }))
  }
}

export const datasetCountTokensJob: JobKind<
  StoreJobInput & { datasetId: number; tokenizerKey: string; modelDir: string },
  { counted: number; failed: number }
> = {
  kind: 'dataset.count-tokens',
  summary: "Count every sample's tokens with a base model's chat template",
  run(input, ctx) {
    return withStore(input.storeDir, (store) =>
      countTokens(store, input, { signal: ctx.signal, onProgress: throttledProgress(ctx) })
    )
  }
}

export const datasetPreflightJob: JobKind<
  StoreJobInput & { datasetId: number; modelDir: string; maxLength: number },
  PreflightOutcome
> = {
  kind: 'dataset.preflight',
  summary: 'Check that every sample renders and has tokens to train on',
  run(input, ctx) {
    return withStore(input.storeDir, (store) =>
      preflight(store, input, { signal: ctx.signal, onProgress: throttledProgress(ctx) })
    )
  }
}

export const datasetNearDuplicatesJob: JobKind<
  StoreJobInput & { datasetId: number } & MinHashOptions,
  { groups: number; samples: number }
> = {
  kind: 'dataset.near-duplicates',
  summary: 'Find near-duplicate samples (MinHash + LSH)',
  run(input, ctx) {
    return withStore(input.storeDir, (store) =>
      findNearDuplicates(store, input, { signal: ctx.signal, onProgress: throttledProgress(ctx) })
    )
  }
}

export const datasetExportJob: JobKind<StoreJobInput & ExportRequest, ExportOutcome> = {
  kind: 'dataset.export',
  summary: 'Export samples to a JSONL file',
  run(input, ctx) {
    return withStore(input.storeDir, (store) =>
      exportSamples(store, input, { signal: ctx.signal, onProgress: throttledProgress(ctx) })
    )
  }
}

export const datasetBulkJob: JobKind<StoreJobInput & BulkEditRequest, { changed: number }> = {
  kind: 'dataset.bulk',
  summary: 'Apply a bulk action to many samples',
  run: (input) => withStore(input.storeDir, (store) => bulkEdit(store, input))
}

export const datasetAssignSplitsJob: JobKind<
  StoreJobInput & SplitRequest,
  ReturnType<typeof assignDatasetSplits>
> = {
  kind: 'dataset.assign-splits',
  summary: 'Assign seeded train/validation/test splits',
  run: (input) => withStore(input.storeDir, (store) => assignDatasetSplits(store, input))
}

export const datasetJobs = [
  datasetImportJob,
  datasetSearchIndexJob,
  datasetCountTokensJob,
  datasetPreflightJob,
  datasetNearDuplicatesJob,
  datasetExportJob,
  datasetBulkJob,
  datasetAssignSplitsJob
] as unknown as JobKind<never, unknown>[]

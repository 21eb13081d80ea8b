/**
 * The dataset job kinds: long dataset work runs in a job worker, which opens its own connection
 * to the store (WAL lets it read while the main thread serves the UI) and answers with plain data.
 */
import { openStore, type Store } from '../store'
import type { JobContext, JobKind } from '../jobs/protocol'
import { importFile, type ImportOutcome, type ImportRequest } from './import'

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

export const datasetJobs: JobKind<never, unknown>[] = [datasetImportJob as JobKind<never, unknown>]

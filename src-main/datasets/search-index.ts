/**
 * Catching the full-text index up with samples that large imports committed unindexed (see
 * store/repos/search-index.ts). Runs as a job; each batch is one short write transaction, so
 * edits made meanwhile wait at most a batch, and a killed job loses at most the batch in flight.
 */
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Store } from '../store'
import { removeAbandonedImports } from '../store/abandoned-imports'

/** About 50 ms of indexing on a 2-core machine: short enough not to hold up an edit. */
export const SEARCH_INDEX_BATCH = 2000

export interface SearchIndexHooks {
  onProgress?: (done: number, total: number, message: string) => void
  signal?: AbortSignal
}

/** Indexes until the backlog is empty (also what other imports add meanwhile); returns how many ids. */
export async function indexSearchBacklog(store: Store, hooks: SearchIndexHooks = {}): Promise<number> {
  // What a killed import left is in the backlog too (which is why this job runs when a door opens):
  // remove it rather than index it.
  removeAbandonedImports(store.db)
  let done = 0
  for (;;) {
    // A turn of the event loop between batches lets a cancel reach the job.
    await nextTurn()
    if (hooks.signal?.aborted) throw new Error('dataset.search-index: cancelled')
    const remaining = store.searchIndex.backlogSize()
    hooks.onProgress?.(done, done + remaining, `${done} samples indexed for search`)
    if (remaining === 0) return done
    done += store.searchIndex.indexNext(SEARCH_INDEX_BATCH)
  }
}

import { existsSync } from 'node:fs'
import { openStore, type Store } from '../store'
import { graphCacheDir } from '../store/location'
import { CACHE_PRUNE_JOB, type CachePruneInput } from '../jobs/kinds/cache-prune'
import { JobRunner } from '../jobs/runner'
import { EventBus } from './events'
import { processExists } from '../processes'
import { RunManager } from './run-manager'
import { SearchIndexing } from './search-indexing'

/** Everything a handler may touch. Each door creates one and disposes of it when it closes. */
export interface ApiContext {
  store: Store
  jobs: JobRunner
  events: EventBus
  /** The runs this context queues and trains, and run control across processes. */
  runs: RunManager
  /** The job that makes large imports searchable after they commit. */
  searchIndex: SearchIndexing
}

export interface ApiContextOptions {
  /**
   * Index what a killed process left unindexed as soon as the context opens (default). The CLI
   * turns it off: a one-shot command should not start work it would kill on exit.
   */
  indexSearchOnOpen?: boolean
  /**
   * Prune the store's graph cache in a background job as the context opens (default off). The
   * long-lived doors (the app, the server) turn it on; one-shot commands and tests need not walk
   * a cache of gigabytes, and `finetune-studio cache prune` does it on demand.
   */
  pruneCacheOnOpen?: boolean
}

/**
 * Opens the store and starts this context's run manager, which at once marks interrupted any run
 * left active by a process that is gone. Background upkeep (search indexing, cache pruning) starts
 * as the options say and never delays the return.
 */
export function createApiContext(
  storeDir: string,
  options: ApiContextOptions = {}
): ApiContext & { dispose(): Promise<void> } {
  const store = openStore(storeDir)
  const events = new EventBus()
  const jobs = new JobRunner(events)
  const searchIndex = new SearchIndexing(store, jobs)
  const runs = new RunManager({ store, jobs, events, searchIndex })
  store.evaluations.interruptOrphans(processExists)
  store.exports.interruptOrphans(processExists)
  if (options.indexSearchOnOpen ?? true) searchIndex.ensure()
  const cacheDir = graphCacheDir(store.dir)
  // No cache yet, nothing to prune: no worker started for it.
  if (options.pruneCacheOnOpen && existsSync(cacheDir)) {
    const input: CachePruneInput = { cacheDir }
    // A lane of its own, so a model registration or an import does not wait for the walk.
    jobs.submit(CACHE_PRUNE_JOB, input, { lane: 'cache-prune' })
  }
  return {
    store,
    events,
    jobs,
    runs,
    searchIndex,
    async dispose() {
      runs.dispose()
      await jobs.close()
      store.close()
    }
  }
}

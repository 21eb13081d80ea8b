import { openStore, type Store } from '../store'
import { JobRunner } from '../jobs/runner'
import { EventBus } from './events'
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
}

/**
 * Opens the store and starts this context's run manager, which at once marks interrupted any run
 * left active by a process that is gone.
 */
export function createApiContext(
  storeDir: string,
  options: ApiContextOptions = {}
): ApiContext & { dispose(): Promise<void> } {
  const store = openStore(storeDir)
  const events = new EventBus()
  const jobs = new JobRunner(events)
  const runs = new RunManager(store, jobs, events)
  const searchIndex = new SearchIndexing(store, jobs)
  if (options.indexSearchOnOpen ?? true) searchIndex.ensure()
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

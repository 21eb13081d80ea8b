import { openStore, type Store } from '../store'
import { JobRunner } from '../jobs/runner'
import { EventBus } from './events'
import { RunManager } from './run-manager'

/** Everything a handler may touch. Each door creates one and disposes of it when it closes. */
export interface ApiContext {
  store: Store
  jobs: JobRunner
  events: EventBus
  /** The runs this context queues and trains, and run control across processes. */
  runs: RunManager
}

/**
 * Opens the store and starts this context's run manager, which at once marks interrupted any run
 * left active by a process that is gone.
 */
export function createApiContext(storeDir: string): ApiContext & { dispose(): Promise<void> } {
  const store = openStore(storeDir)
  const events = new EventBus()
  const jobs = new JobRunner(events)
  const runs = new RunManager(store, jobs, events)
  return {
    store,
    events,
    jobs,
    runs,
    async dispose() {
      runs.dispose()
      await jobs.close()
      store.close()
    }
  }
}

import { openStore, type Store } from '../store'
import { JobRunner } from '../jobs/runner'
import { EventBus } from './events'

/** Everything a handler may touch. Each door creates one and disposes of it when it closes. */
export interface ApiContext {
  store: Store
  jobs: JobRunner
  events: EventBus
}

export function createApiContext(storeDir: string): ApiContext & { dispose(): Promise<void> } {
  const store = openStore(storeDir)
  const events = new EventBus()
  const jobs = new JobRunner(events)
  return {
    store,
    events,
    jobs,
    async dispose() {
      await jobs.close()
      store.close()
    }
  }
}

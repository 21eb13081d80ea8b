/**
 * Keeps one search-index job going while the store has samples waiting to be indexed (large
 * imports commit before their samples are searchable; see datasets/search-index.ts). A door starts
 * it when it opens, for what a killed process left behind, and after every import.
 */
import { SEARCH_INDEX_JOB } from '../datasets/jobs'
import type { JobRunner } from '../jobs/runner'
import type { Store } from '../store'

export class SearchIndexing {
  private running: Promise<void> | null = null
  private again = false

  constructor(
    private readonly store: Store,
    private readonly jobs: JobRunner
  ) {}

  /** Starts the job if there is a backlog and none is running; else asks the running one's end to check again. */
  ensure(): void {
    if (this.running) {
      this.again = true
      return
    }
    if (this.store.searchIndex.backlogSize() === 0) return
    const job = this.jobs.submit(SEARCH_INDEX_JOB, { storeDir: this.store.dir }, { lane: 'search-index' })
    this.running = this.jobs.wait(job.id).then((done) => {
      this.running = null
      // A range added just as the job found the backlog empty; a failed job is not retried in a loop.
      if (this.again && done.status === 'completed') {
        this.again = false
        this.ensure()
      }
    })
  }

  /** Resolves once no indexing job is running (the backlog is empty unless a job failed). */
  async idle(): Promise<void> {
    while (this.running) await this.running
  }
}

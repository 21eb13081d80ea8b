/**
 * What scoring one batch of rows shares between its calls: a query process per database (started
 * once, not per completion), the gold queries' results (a group of completions shares one gold),
 * and loaded benchmark tasks. Close it when the batch is scored: that ends the query processes.
 */
import { loadTask, type LoadedTask } from '../eval/tasks'
import { SqlQueryRunner, type SqlOutcome } from './sql-runner'

export class RewardSession {
  private readonly runners = new Map<string, SqlQueryRunner>()
  private readonly goldResults = new Map<string, Promise<SqlOutcome>>()
  private readonly tasks = new Map<string, Promise<LoadedTask>>()

  /** Runs a completion's query on `database`. */
  query(database: string, sql: string, timeoutMs: number): Promise<SqlOutcome> {
    let runner = this.runners.get(database)
    if (!runner) {
      runner = new SqlQueryRunner(database)
      this.runners.set(database, runner)
    }
    return runner.run(sql, timeoutMs)
  }

  /** Runs a gold query on `database`, once per session. */
  goldQuery(database: string, sql: string, timeoutMs: number): Promise<SqlOutcome> {
    const key = JSON.stringify([database, sql])
    let result = this.goldResults.get(key)
    if (!result) {
      result = this.query(database, sql, timeoutMs)
      this.goldResults.set(key, result)
    }
    return result
  }

  /** The task file loaded once per session. */
  task(file: string): Promise<LoadedTask> {
    let task = this.tasks.get(file)
    if (!task) {
      task = loadTask(file)
      this.tasks.set(file, task)
    }
    return task
  }

  close(): void {
    for (const runner of this.runners.values()) runner.close()
    this.runners.clear()
  }
}

/**
 * Runs reward SQL on a user's SQLite file in a child process (sql-query-process.ts), one query at a
 * time, each with a time limit: a query past it is stopped by killing the process (SQLite as
 * better-sqlite3 builds it has no progress handler to interrupt with), and the next query starts a
 * fresh one. The main thread never waits on SQLite.
 */
import type { ChildProcess } from 'node:child_process'
import { startChildProcess } from '../jobs/worker-entry'
import type { SqlReply, SqlRequest } from './sql-protocol'

/** A query's rows (canonical text, in order), or why there are none. */
export type SqlOutcome = { rows: string[] } | { error: string }

/** More rows than this and a result is refused: a reward compares answers, not table dumps. */
export const MAX_RESULT_ROWS = 100_000

export class SqlQueryRunner {
  private child: ChildProcess | null = null
  private opened: Promise<ChildProcess> | null = null
  private nextId = 1
  /** Queries wait for the one before them: the child runs one at a time. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(readonly path: string) {}

  /** Runs one query, stopping it after `timeoutMs` (the process's start is not counted). */
  run(sql: string, timeoutMs: number): Promise<SqlOutcome> {
    const outcome = this.queue.then(() => this.runNow(sql, timeoutMs))
    this.queue = outcome.catch(() => undefined)
    return outcome
  }

  close(): void {
    this.child?.kill('SIGKILL')
    this.child = null
    this.opened = null
  }

  private async runNow(sql: string, timeoutMs: number): Promise<SqlOutcome> {
    let child: ChildProcess
    try {
      child = await this.start()
    } catch (error) {
      return { error: (error as Error).message }
    }
    const id = this.nextId++
    return new Promise<SqlOutcome>((resolve) => {
      const finish = (outcome: SqlOutcome) => {
        clearTimeout(timer)
        child.off('message', onMessage)
        child.off('exit', onExit)
        resolve(outcome)
      }
      const onMessage = (reply: SqlReply) => {
        if (reply.type === 'result' && reply.id === id) finish({ rows: reply.rows })
        if (reply.type === 'refused' && reply.id === id) finish({ error: reply.error })
      }
      const onExit = () => {
        this.forget(child)
        finish({ error: 'the query process ended unexpectedly' })
      }
      const timer = setTimeout(() => {
        this.forget(child)
        child.kill('SIGKILL')
        finish({ error: `stopped after ${timeoutMs} ms` })
      }, timeoutMs)
      child.on('message', onMessage)
      child.once('exit', onExit)
      child.send({ type: 'query', id, sql, maxRows: MAX_RESULT_ROWS } satisfies SqlRequest)
    })
  }

  private forget(child: ChildProcess): void {
    if (this.child === child) {
      this.child = null
      this.opened = null
    }
  }

  /** The query process with the database open, started when there is none. */
  private start(): Promise<ChildProcess> {
    if (this.opened) return this.opened
    const child = startChildProcess('sql-query', ['ignore', 'ignore', 'ignore', 'ipc'])
    this.child = child
    this.opened = new Promise<ChildProcess>((resolve, reject) => {
      const onExit = () => reject(new Error(`the query process for ${this.path} ended before opening it`))
      child.once('exit', onExit)
      child.once('message', (reply: SqlReply) => {
        child.off('exit', onExit)
        if (reply.type === 'opened') resolve(child)
        else
          reject(
            new Error(reply.type === 'open-failed' ? `${this.path}: ${reply.error}` : 'unexpected reply')
          )
      })
      child.send({ type: 'open', path: this.path } satisfies SqlRequest)
    })
    // A process that failed to open is gone: the next query tries again from scratch.
    this.opened.catch(() => this.forget(child))
    return this.opened
  }
}

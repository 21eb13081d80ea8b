/**
 * The child process that runs reward SQL (sql-runner.ts starts it). It opens one SQLite file
 * read-only and runs only statements that read: better-sqlite3 runs queries synchronously and
 * compiles SQLite without a progress handler, so a query that runs too long can only be stopped by
 * killing the process that runs it — this one, never the app.
 */
import Database from 'better-sqlite3'
import type { SqlReply, SqlRequest } from './sql-protocol'

let db: Database.Database | null = null

function reply(message: SqlReply): void {
  process.send?.(message)
}

/** A value as comparable text: numbers as JavaScript prints them (1 and 1.0 alike), blobs as hex. */
function cellText(value: unknown): string {
  if (Buffer.isBuffer(value)) return `x'${value.toString('hex')}'`
  return JSON.stringify(value)
}

function open(path: string): void {
  try {
    db = new Database(path, { readonly: true, fileMustExist: true })
    // A second guard beside the read-only connection: refuses writes to attached or temp databases too.
    db.pragma('query_only = ON')
    reply({ type: 'opened' })
  } catch (error) {
    reply({ type: 'open-failed', error: (error as Error).message })
    process.exit(0)
  }
}

/** Runs one statement that reads; refuses anything else (ATTACH, PRAGMA assignments, writes). */
function query(id: number, sql: string, maxRows: number): void {
  try {
    const statement = (db as Database.Database).prepare(sql)
    // `reader`: the statement returns rows; `readonly`: SQLite says it changes no database file.
    if (!statement.reader || !statement.readonly) {
      reply({
        type: 'refused',
        id,
        error: 'only a query that reads is run (it would write or change the connection)'
      })
      return
    }
    const rows: string[] = []
    for (const row of statement.raw(true).iterate() as Iterable<unknown[]>) {
      if (rows.length === maxRows) {
        reply({ type: 'refused', id, error: `the result has more than ${maxRows} rows` })
        return
      }
      rows.push(`(${row.map(cellText).join(',')})`)
    }
    reply({ type: 'result', id, rows })
  } catch (error) {
    reply({ type: 'refused', id, error: (error as Error).message })
  }
}

process.on('message', (message: SqlRequest) => {
  if (message.type === 'open') open(message.path)
  else query(message.id, message.sql, message.maxRows)
})
process.on('disconnect', () => process.exit(0))

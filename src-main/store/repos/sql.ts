import type Database from 'better-sqlite3'

/** The timestamp every table stores: ISO-8601 UTC with milliseconds, which sorts as text. */
export const NOW_SQL = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`

/** A page of a list. SQLite reads LIMIT -1 as "no limit". */
export interface Page {
  limit?: number
  offset?: number
}

export function pageParams(page: Page | undefined, defaultLimit: number): { limit: number; offset: number } {
  return { limit: page?.limit ?? defaultLimit, offset: page?.offset ?? 0 }
}

/**
 * `fn` wrapped in an IMMEDIATE transaction (nested calls become savepoints), typed as a plain
 * function so repository types do not leak better-sqlite3's Transaction type.
 *
 * Immediate, because a transaction that reads before it writes must hold the write lock from its
 * start: a deferred one takes it only at its first write, and if another connection holds it then,
 * SQLite answers SQLITE_BUSY at once instead of waiting out busy_timeout (its read snapshot could
 * be stale by the time the lock is free). Every store write that needs more than one statement goes
 * through here.
 */
export function inTransaction<A extends unknown[], R>(
  db: Database.Database,
  fn: (...args: A) => R
): (...args: A) => R {
  const transaction = db.transaction(fn)
  return (...args: A) => transaction.immediate(...args) as R
}

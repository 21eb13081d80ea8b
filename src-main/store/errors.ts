import Database from 'better-sqlite3'

/**
 * Errors the repositories throw for conditions a user can cause. `code` matches
 * ApiErrorShape["code"] in src-preload/contract/index.ts, so the api layer can pass them through as they are.
 */
export class StoreNotFoundError extends Error {
  readonly code = 'not_found' as const
  override name = 'StoreNotFoundError'
}

export class StoreConflictError extends Error {
  readonly code = 'conflict' as const
  override name = 'StoreConflictError'
}

/** True for a SqliteError with the given extended code, e.g. 'SQLITE_CONSTRAINT_UNIQUE'. */
export function isSqliteError(error: unknown, code: string): boolean {
  return error instanceof Database.SqliteError && error.code === code
}

/** Messages between sql-runner.ts and the query process (sql-query-process.ts), over IPC. */

/** Parent → child: open this database (first message), then run queries one at a time. */
export type SqlRequest =
  { type: 'open'; path: string } | { type: 'query'; id: number; sql: string; maxRows: number }

/**
 * Child → parent: the database is open (or could not be), or one query's result. A row is its
 * values as canonical text (blobs as hex), so result sets compare as strings.
 */
export type SqlReply =
  | { type: 'opened' }
  | { type: 'open-failed'; error: string }
  | { type: 'result'; id: number; rows: string[] }
  | { type: 'refused'; id: number; error: string }

/**
 * SQL text and its bound parameters built together, so no value can reach the text: in
 * sql`SELECT * FROM samples WHERE id = ${id}` the id becomes a `?` placeholder and a parameter,
 * in the same order. A `Sql` interpolated into another is spliced in with its parameters, which is
 * how conditional pieces compose. SQL text comes only from template literals in the source; a
 * string from anywhere else (a column name a caller asked for, say) is bound as a value like any
 * other, never pasted. (Signal-Desktop's `sql` / `sqlFragment` idea, ts/sql/util.ts.)
 */
import type Database from 'better-sqlite3'

/** What SQLite can bind: anything else (objects, booleans, undefined) is a mistake, refused. */
export type SqlValue = string | number | bigint | Buffer | null

/** Only this module constructs Sql, so an object that merely looks like one is never spliced in as text. */
const CONSTRUCTING = Symbol('Sql')

export class Sql {
  constructor(
    token: typeof CONSTRUCTING,
    readonly text: string,
    readonly params: readonly SqlValue[]
  ) {
    if (token !== CONSTRUCTING) throw new TypeError('sql: build SQL with the sql`…` tag')
  }
}

function isSqlValue(value: unknown): value is SqlValue {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'bigint' ||
    Buffer.isBuffer(value)
  )
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (Array.isArray(value)) return 'an array (join pieces with joinSql)'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

export function sql(strings: TemplateStringsArray, ...values: readonly (Sql | SqlValue)[]): Sql {
  let text = strings[0]
  const params: SqlValue[] = []
  values.forEach((value, i) => {
    if (value instanceof Sql) {
      text += value.text
      params.push(...value.params)
    } else if (isSqlValue(value)) {
      text += '?'
      params.push(value)
    } else {
      throw new TypeError(`sql: cannot bind ${describeValue(value)} at \${…} number ${i + 1}`)
    }
    text += strings[i + 1]
  })
  return new Sql(CONSTRUCTING, text, params)
}

/** The pieces one after the other with `separator` between them (e.g. conditions joined by AND). */
export function joinSql(pieces: readonly Sql[], separator: Sql): Sql {
  return new Sql(
    CONSTRUCTING,
    pieces.map((piece) => piece.text).join(separator.text),
    pieces.flatMap((piece, i) => (i === 0 ? piece.params : [...separator.params, ...piece.params]))
  )
}

/**
 * The text of SQL that binds nothing, for a statement prepared once and run with parameters of its
 * own (a fixed expression spliced into it, say).
 */
export function staticText(query: Sql): string {
  if (query.params.length > 0) {
    throw new TypeError(`sql: expected SQL without bound values, got ${query.params.length}: ${query.text}`)
  }
  return query.text
}

/** The query prepared with its parameters bound: call .all(), .get() (or .pluck() first) with no arguments. */
export function prepareSql<Row = unknown>(
  db: Database.Database,
  query: Sql
): Database.Statement<SqlValue[], Row> {
  return db.prepare<SqlValue[], Row>(query.text).bind(...query.params)
}

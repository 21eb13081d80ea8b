import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { joinSql, prepareSql, Sql, sql, staticText } from '../../src-main/store/sql-template'

describe('the sql tag', () => {
  it('binds every value as a placeholder, keeping the values in order', () => {
    const query = sql`SELECT * FROM samples WHERE dataset_id = ${7} AND split = ${'train'} AND rating IS ${null}`
    expect(query.text).toBe('SELECT * FROM samples WHERE dataset_id = ? AND split = ? AND rating IS ?')
    expect(query.params).toEqual([7, 'train', null])
  })

  it('splices nested fragments in with their parameters, in the order they appear', () => {
    const inner = sql`split = ${'test'} AND rating > ${3}`
    const middle = sql`(${inner}) OR tag = ${'math'}`
    const query = sql`SELECT id FROM samples WHERE dataset_id = ${1} AND (${middle}) LIMIT ${10}`
    expect(query.text).toBe(
      'SELECT id FROM samples WHERE dataset_id = ? AND ((split = ? AND rating > ?) OR tag = ?) LIMIT ?'
    )
    expect(query.params).toEqual([1, 'test', 3, 'math', 10])
  })

  it('joins fragments with a separator, their parameters following one another', () => {
    const joined = joinSql([sql`a = ${1}`, sql`b = ${2}`, sql`c = ${3}`], sql` AND `)
    expect(joined.text).toBe('a = ? AND b = ? AND c = ?')
    expect(joined.params).toEqual([1, 2, 3])
    expect(joinSql([], sql` AND `).text).toBe('')
    const withValueSeparator = joinSql([sql`x`, sql`y`], sql` || ${'-'} || `)
    expect(withValueSeparator).toMatchObject({ text: 'x || ? || y', params: ['-'] })
  })

  it('never pastes a string into the text, even where an identifier or keyword would go', () => {
    const column = 'id; DROP TABLE samples; --'
    const query = sql`SELECT * FROM samples ORDER BY ${column}`
    expect(query.text).toBe('SELECT * FROM samples ORDER BY ?')
    expect(query.params).toEqual([column])
  })

  it('refuses an object that only looks like a fragment, and values SQLite cannot bind', () => {
    const lookalike = { text: 'DROP TABLE samples', params: [] }
    expect(() => sql`SELECT ${lookalike as never}`).toThrow(/cannot bind an object/)
    expect(() => sql`SELECT ${undefined as never}`).toThrow(/cannot bind undefined/)
    expect(() => sql`SELECT ${true as never}`).toThrow(/cannot bind a boolean/)
    expect(() => sql`SELECT ${[1, 2] as never}`).toThrow(/cannot bind an array/)
    expect(() => new Sql(Symbol('Sql') as never, 'DROP TABLE samples', [])).toThrow(/sql`…` tag/)
  })

  it('gives the text of SQL without values for statements prepared once, and refuses SQL with values', () => {
    expect(staticText(sql`s.rating DESC`)).toBe('s.rating DESC')
    expect(() => staticText(sql`s.rating > ${3}`)).toThrow(/without bound values, got 1/)
  })

  it('runs with its parameters bound, and a hostile value stays a value', () => {
    const db = new Database(':memory:')
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t (name) VALUES ('a'), ('b')")
    const hostile = "a' OR '1'='1"
    expect(
      prepareSql(db, sql`SELECT id FROM t WHERE name = ${hostile}`)
        .pluck()
        .all()
    ).toEqual([])
    expect(
      prepareSql(db, sql`SELECT id FROM t WHERE ${sql`name = ${'b'}`}`)
        .pluck()
        .all()
    ).toEqual([2])
    db.close()
  })
})

/**
 * sql_execution_match on a SQLite file made here: right and wrong queries, row order only under
 * ORDER BY, every kind of write refused with the file left byte-for-byte as it was, and a query
 * that runs too long stopped (its process killed) while the next one still runs.
 */
import Database from 'better-sqlite3'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RewardSession, scoreRows } from '../../src-main/rewards'
import { extractSql } from '../../src-main/rewards/sql-execution-match'
import { tempDir } from '../helpers/temp'
import { scoreOne } from './score-one'

const temp = tempDir('fs-rewards-sql-')
const database = join(temp.dir, 'shop.sqlite')

beforeAll(() => {
  const db = new Database(database)
  db.exec(`
    CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL);
    INSERT INTO customers VALUES (1, 'Ada', 'London'), (2, 'Grace', 'New York'), (3, 'Linus', 'Helsinki'), (4, 'Alan', 'London');
  `)
  db.close()
})
afterAll(() => temp.cleanup())

function fingerprint(): { sha256: string; mtimeMs: number; size: number } {
  const stat = statSync(database)
  return {
    sha256: createHash('sha256').update(readFileSync(database)).digest('hex'),
    mtimeMs: stat.mtimeMs,
    size: stat.size
  }
}

const londoners = "SELECT name FROM customers WHERE city = 'London'"

describe('sql_execution_match', () => {
  it('gives 1 when the completion’s query returns the gold’s rows, as a multiset', async () => {
    const row = { completion: "SELECT name FROM customers WHERE city LIKE 'Lon%';", reference: londoners }
    expect(await scoreOne('sql_execution_match', row, { database })).toEqual({ value: 1 })
    const reordered = { completion: `${londoners} ORDER BY name DESC`, reference: londoners }
    expect((await scoreOne('sql_execution_match', reordered, { database })).value).toBe(1)
  })

  it('gives 0 for other rows, and for another order when the gold has ORDER BY', async () => {
    const wrong = { completion: "SELECT name FROM customers WHERE city = 'Helsinki'", reference: londoners }
    expect(await scoreOne('sql_execution_match', wrong, { database })).toEqual({
      value: 0,
      reason: '1 rows, not the gold’s 2'
    })
    const ordered = { completion: `${londoners} ORDER BY name DESC`, reference: `${londoners} ORDER BY name` }
    expect(await scoreOne('sql_execution_match', ordered, { database })).toEqual({
      value: 0,
      reason: 'the 2 rows differ from the gold’s'
    })
  })

  it('takes the last ```sql block of a completion, else its last fenced block, else the whole text', async () => {
    expect(extractSql('Try:\n```sql\nSELECT 1;\n```\nor better\n```sql\nSELECT 2\n```')).toBe('SELECT 2')
    expect(extractSql('```\nSELECT 3;\n```')).toBe('SELECT 3')
    expect(extractSql(' SELECT 4 ; ')).toBe('SELECT 4')
    const row = {
      completion: `<think>filter on city</think>\n\`\`\`sql\n${londoners};\n\`\`\``,
      reference: londoners
    }
    expect((await scoreOne('sql_execution_match', row, { database })).value).toBe(1)
  })

  it('refuses every query that would write or change the connection, and leaves the file unchanged', async () => {
    const before = fingerprint()
    const writes = [
      "INSERT INTO customers VALUES (5, 'Eve', 'Paris')",
      "UPDATE customers SET city = 'Paris'",
      'DELETE FROM customers',
      'DROP TABLE customers',
      'CREATE TABLE t (x)',
      "ATTACH DATABASE ':memory:' AS scratch",
      `ATTACH DATABASE '${join(temp.dir, 'new.sqlite')}' AS other`,
      'PRAGMA writable_schema = ON',
      'PRAGMA query_only = OFF',
      'VACUUM',
      "WITH v AS (SELECT 9, 'Mallory', 'Oslo') INSERT INTO customers SELECT * FROM v",
      'SELECT 1; DROP TABLE customers'
    ]
    const spec = { terms: [{ reward: 'sql_execution_match', weight: 1, params: { database } }] }
    const rows = writes.map((completion) => ({ prompt: '', completion, reference: londoners, metadata: {} }))
    const scores = await scoreRows(spec, rows)
    scores.forEach(({ terms: [term] }, i) => {
      expect(term.value, writes[i]).toBe(0)
      expect(term.reason, writes[i]).toMatch(/only a query that reads is run|more than one statement/)
    })
    expect(fingerprint()).toEqual(before)
    expect(existsSync(join(temp.dir, 'new.sqlite'))).toBe(false)
    const check = new Database(database, { readonly: true })
    expect(check.prepare('SELECT count(*) AS n FROM customers').get()).toEqual({ n: 4 })
    check.close()
  })

  it('stops a query past timeout_ms by killing its process; this process lives on and the next query runs', async () => {
    const session = new RewardSession()
    try {
      expect(await session.query(database, 'SELECT 1', 1000)).toEqual({ rows: ['(1)'] })
      const endless =
        'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT count(*) FROM c'
      // This thread keeps running while the query does: a timer ticks throughout.
      let ticks = 0
      const ticker = setInterval(() => ticks++, 10)
      const started = performance.now()
      const outcome = await session.query(database, endless, 300)
      clearInterval(ticker)
      expect(outcome).toEqual({ error: 'stopped after 300 ms' })
      expect(performance.now() - started).toBeLessThan(300 + 700)
      // A blocked thread would tick once at most, after the query; 30 ticks fit in 300 ms.
      expect(ticks).toBeGreaterThan(3)
      expect(await session.query(database, londoners, 5000)).toEqual({ rows: ['("Ada")', '("Alan")'] })
    } finally {
      session.close()
    }
  })

  it('scores a query that runs too long 0 with the reason, through the spec', async () => {
    const endless = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c'
    const result = await scoreOne(
      'sql_execution_match',
      { completion: endless, reference: londoners },
      { database, timeout_ms: 200 }
    )
    expect(result).toEqual({ value: 0, reason: 'stopped after 200 ms' })
  })

  it('says when the gold query fails, and refuses a database that is missing or not a file', async () => {
    const badGold = await scoreOne(
      'sql_execution_match',
      { completion: 'SELECT 1', reference: 'SELECT nope FROM nowhere' },
      { database }
    )
    expect(badGold).toEqual({ value: 0, reason: 'the gold query failed: no such table: nowhere' })
    await expect(scoreOne('sql_execution_match', { completion: '' }, {})).rejects.toThrow(
      'rewards: term 0 (sql_execution_match): parameter database: the SQLite file is required'
    )
    const missing = join(temp.dir, 'missing.sqlite')
    await expect(scoreOne('sql_execution_match', { completion: '' }, { database: missing })).rejects.toThrow(
      `rewards: term 0 (sql_execution_match): parameter database: ${missing} does not exist`
    )
    await expect(scoreOne('sql_execution_match', { completion: '' }, { database: temp.dir })).rejects.toThrow(
      `parameter database: ${temp.dir} is not a file`
    )
  })

  it('gives 0 with SQLite’s reason when the named file is not a database', async () => {
    const notSqlite = join(temp.dir, 'notes.txt')
    writeFileSync(notSqlite, 'just some text, long enough to be read as a header of something else entirely')
    const result = await scoreOne(
      'sql_execution_match',
      { completion: 'SELECT 1', reference: 'SELECT 1' },
      { database: notSqlite }
    )
    expect(result.value).toBe(0)
    expect(result.reason).toBe('the gold query failed: file is not a database')
  })
})

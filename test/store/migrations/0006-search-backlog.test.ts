import type Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { migrate, schemaVersion } from '../../../src-main/store/db'
import { openBareDatabase, tableNames } from '../helpers'
import { searchIds } from './seed'

const conversation = (user: string, assistant: string) =>
  JSON.stringify({
    messages: [
      { role: 'user', content: user },
      { role: 'assistant', content: assistant }
    ]
  })

/** A version-5 database with a dataset of two indexed samples. */
function seededAt5(): Database.Database {
  const { db } = openBareDatabase()
  migrate(db, 5)
  db.prepare("INSERT INTO datasets (id, name) VALUES (1, 'd')").run()
  const insert = db.prepare(
    'INSERT INTO samples (id, dataset_id, conversation, content_hash) VALUES (?, 1, ?, ?)'
  )
  insert.run(1, conversation('Where do penguins live?', 'In Antarctica.'), 'h1')
  insert.run(2, conversation('Best pet?', 'A cat.'), 'h2')
  return db
}

/** A version-6 database as seededAt5 left it, with ids 10..12 in the backlog. */
function seededAt6WithBacklog(): Database.Database {
  const db = seededAt5()
  migrate(db, 6)
  db.exec('INSERT INTO sample_search_backlog (first_id, last_id) VALUES (10, 12)')
  return db
}

function insertSample(db: Database.Database, id: number, user: string, assistant: string): void {
  db.prepare('INSERT INTO samples (id, dataset_id, conversation, content_hash) VALUES (?, 1, ?, ?)').run(
    id,
    conversation(user, assistant),
    `h${id}`
  )
}

describe('migration 0006-search-backlog (5 → 6)', () => {
  it('keeps the existing samples searchable and starts with an empty backlog', () => {
    const db = seededAt5()
    migrate(db, 6)
    expect(schemaVersion(db)).toBe(6)
    expect(tableNames(db)).toContain('sample_search_backlog')
    expect(db.prepare('SELECT count(*) FROM sample_search_backlog').pluck().get()).toBe(0)
    expect(searchIds(db, 'antarctica')).toEqual([1])
    expect(searchIds(db, 'meta : "d1" AND meta : "live"')).toEqual([1, 2])
  })

  it('adds datasets.import_heartbeat_at, NULL for existing and new datasets', () => {
    const db = seededAt5()
    migrate(db, 6)
    db.prepare("INSERT INTO datasets (id, name) VALUES (2, 'new')").run()
    expect(db.prepare('SELECT id, import_heartbeat_at FROM datasets ORDER BY id').all()).toEqual([
      { id: 1, import_heartbeat_at: null },
      { id: 2, import_heartbeat_at: null }
    ])
  })

  it('rejects a backlog range that ends before it starts', () => {
    const db = seededAt5()
    migrate(db, 6)
    expect(() => db.exec('INSERT INTO sample_search_backlog (first_id, last_id) VALUES (5, 4)')).toThrow(
      /CHECK constraint failed/
    )
  })

  it('leaves an inserted backlogged sample out of the index, and indexes one outside the backlog', () => {
    const db = seededAt6WithBacklog()
    insertSample(db, 10, 'Tallest mountain?', 'Everest.')
    insertSample(db, 12, 'Longest river?', 'The Nile.')
    insertSample(db, 13, 'Deepest lake?', 'Baikal.')
    expect(searchIds(db, 'everest')).toEqual([])
    expect(searchIds(db, 'nile')).toEqual([])
    expect(searchIds(db, 'baikal')).toEqual([13])
    expect(searchIds(db, 'meta : "d1"')).toEqual([1, 2, 13])
  })

  it('does not index a backlogged sample when it is edited, soft-deleted or moved', () => {
    const db = seededAt6WithBacklog()
    insertSample(db, 11, 'Tallest mountain?', 'Everest.')
    db.prepare('UPDATE samples SET conversation = ? WHERE id = 11').run(conversation('Highest peak?', 'K2.'))
    expect(searchIds(db, 'everest')).toEqual([])
    expect(searchIds(db, 'k2')).toEqual([])
    db.exec("UPDATE samples SET deleted_at = '2026-01-01T00:00:00.000Z', split = 'test' WHERE id = 11")
    db.exec(
      "INSERT INTO datasets (id, name) VALUES (2, 'other'); UPDATE samples SET dataset_id = 2 WHERE id = 11"
    )
    expect(searchIds(db, 'meta : "deleted" OR meta : "test" OR meta : "d2"')).toEqual([])
    // Deleting it (never indexed) leaves the index's other entries alone.
    db.exec('DELETE FROM samples WHERE id = 11')
    expect(searchIds(db, 'meta : "d1"')).toEqual([1, 2])
  })

  it('still reindexes an edited sample that is not backlogged, and only on indexed columns', () => {
    const db = seededAt6WithBacklog()
    db.prepare('UPDATE samples SET conversation = ? WHERE id = 1').run(
      conversation('Where do penguins live?', 'Near the south pole.')
    )
    expect(searchIds(db, 'antarctica')).toEqual([])
    expect(searchIds(db, 'pole')).toEqual([1])
    db.exec("UPDATE samples SET split = 'validation' WHERE id = 2")
    expect(searchIds(db, 'meta : "validation" AND body : "cat"')).toEqual([2])
    db.exec('UPDATE samples SET tags = \'["x"]\' WHERE id = 1')
    expect(searchIds(db, 'pole')).toEqual([1])
    db.exec('DELETE FROM samples WHERE id = 1')
    expect(searchIds(db, 'pole')).toEqual([])
  })
})

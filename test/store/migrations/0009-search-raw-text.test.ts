import type Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { migrate, schemaVersion } from '../../../src-main/store/db'
import { databaseAt, searchIds } from './seed'

/** A version-8 database with a dataset of one indexed chat sample. */
function seededAt8(): Database.Database {
  const db = databaseAt(8)
  db.prepare("INSERT INTO datasets (id, name) VALUES (1, 'd')").run()
  insert(db, 1, {
    messages: [
      { role: 'user', content: 'Where do penguins live?' },
      { role: 'assistant', content: 'In Antarctica.' }
    ]
  })
  return db
}

function insert(db: Database.Database, id: number, conversation: unknown): void {
  db.prepare('INSERT INTO samples (id, dataset_id, conversation, content_hash) VALUES (?, 1, ?, ?)').run(
    id,
    JSON.stringify(conversation),
    `h${id}`
  )
}

describe('migration 0009-search-raw-text (8 → 9)', () => {
  it('keeps the index as it was and makes raw-text samples searchable by their text', () => {
    const db = seededAt8()
    // Before: a raw-text sample's text is not searched.
    insert(db, 2, { messages: [], text: 'Emperor penguins huddle in winter.' })
    expect(searchIds(db, 'huddle')).toEqual([])
    db.prepare('DELETE FROM samples WHERE id = 2').run()
    migrate(db, 9)
    expect(schemaVersion(db)).toBe(9)
    expect(searchIds(db, 'antarctica')).toEqual([1])
    insert(db, 2, { messages: [], text: 'Emperor penguins huddle in winter.' })
    expect(searchIds(db, 'huddle')).toEqual([2])
    expect(searchIds(db, 'penguins')).toEqual([1, 2])
    expect(searchIds(db, 'meta : "d1" AND meta : "live"')).toEqual([1, 2])
  })

  it('follows an edited text, and leaves a backlogged sample to the search-index job', () => {
    const db = seededAt8()
    migrate(db, 9)
    insert(db, 2, { messages: [], text: 'First draft.' })
    db.prepare('UPDATE samples SET conversation = ? WHERE id = 2').run(
      JSON.stringify({ messages: [], text: 'Second draft.' })
    )
    expect(searchIds(db, 'first')).toEqual([])
    expect(searchIds(db, 'second')).toEqual([2])
    db.exec('INSERT INTO sample_search_backlog (first_id, last_id) VALUES (10, 12)')
    insert(db, 11, { messages: [], text: 'Waiting for the job.' })
    expect(searchIds(db, 'waiting')).toEqual([])
  })
})

import type Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { migrate, schemaVersion } from '../../../src-main/store/db'
import { openBareDatabase, tableNames } from '../helpers'
import { searchIds } from './seed'

const conversation = (user: string, assistant: string, rejected?: string) =>
  JSON.stringify({
    messages: [
      { role: 'user', content: user },
      { role: 'assistant', content: assistant }
    ],
    ...(rejected ? { rejected: [{ role: 'assistant', content: rejected }] } : {})
  })

/** A version-3 database with a dataset of two samples. */
function seededAt3(): Database.Database {
  const { db } = openBareDatabase()
  migrate(db, 3)
  db.prepare("INSERT INTO datasets (id, name) VALUES (1, 'd')").run()
  const insert = db.prepare(
    'INSERT INTO samples (id, dataset_id, conversation, content_hash) VALUES (?, 1, ?, ?)'
  )
  insert.run(1, conversation('Where do penguins live?', 'In Antarctica.'), 'h1')
  insert.run(2, conversation('Best pet?', 'A cat.', 'A rock.'), 'h2')
  return db
}

describe('migration 0004-dataset-curation (3 → 4)', () => {
  it('adds the curation tables and indexes the existing samples for search', () => {
    const db = seededAt3()
    migrate(db, 4)
    expect(schemaVersion(db)).toBe(4)
    expect(tableNames(db)).toEqual(
      expect.arrayContaining([
        'sample_search',
        'sample_token_counts',
        'near_duplicate_searches',
        'near_duplicate_members'
      ])
    )
    expect(searchIds(db, 'antarctica')).toEqual([1])
    // The rejected completion is searchable too.
    expect(searchIds(db, 'rock')).toEqual([2])
    expect(db.prepare('SELECT id, message_count FROM samples ORDER BY id').all()).toEqual([
      { id: 1, message_count: 2 },
      { id: 2, message_count: 2 }
    ])
  })

  it('keeps the index in sync on insert, on conversation edits only, and on delete', () => {
    const db = seededAt3()
    migrate(db, 4)
    db.prepare('INSERT INTO samples (id, dataset_id, conversation, content_hash) VALUES (3, 1, ?, ?)').run(
      conversation('Tallest mountain?', 'Everest.'),
      'h3'
    )
    expect(searchIds(db, 'everest')).toEqual([3])
    db.prepare('UPDATE samples SET conversation = ? WHERE id = 1').run(
      conversation('Where do penguins live?', 'Near the south pole.')
    )
    expect(searchIds(db, 'antarctica')).toEqual([])
    expect(searchIds(db, 'pole')).toEqual([1])
    // Rewriting other columns leaves the entry as it is.
    db.prepare('UPDATE samples SET tags = \'["x"]\' WHERE id = 1').run()
    expect(searchIds(db, 'pole')).toEqual([1])
    db.prepare('DELETE FROM samples WHERE id = 3').run()
    expect(searchIds(db, 'everest')).toEqual([])
  })

  it('indexes the dataset, live/deleted state and split as meta tokens, following changes', () => {
    const db = seededAt3()
    migrate(db, 4)
    expect(searchIds(db, 'meta : "d1" AND meta : "live" AND meta : "train"')).toEqual([1, 2])
    db.prepare(
      "UPDATE samples SET deleted_at = '2026-01-01T00:00:00.000Z', split = 'test' WHERE id = 2"
    ).run()
    expect(searchIds(db, 'meta : "live"')).toEqual([1])
    expect(searchIds(db, 'meta : "deleted" AND meta : "test" AND body : "rock"')).toEqual([2])
    // Meta words are not body words.
    expect(searchIds(db, 'body : "train"')).toEqual([])
  })

  it('drops token counts and near-duplicate membership with their sample', () => {
    const db = seededAt3()
    migrate(db, 4)
    db.exec(`
      INSERT INTO sample_token_counts (tokenizer, sample_id, content_hash, tokens) VALUES ('default', 1, 'h1', 12);
      INSERT INTO near_duplicate_searches (dataset_id, threshold, shingle_words, num_hashes) VALUES (1, 0.8, 3, 128);
      INSERT INTO near_duplicate_members (dataset_id, group_no, sample_id, similarity) VALUES (1, 0, 1, 0.9), (1, 0, 2, 0.9);
      DELETE FROM samples WHERE id = 1;
    `)
    expect(db.prepare('SELECT count(*) FROM sample_token_counts').pluck().get()).toBe(0)
    expect(db.prepare('SELECT sample_id FROM near_duplicate_members').pluck().all()).toEqual([2])
  })
})

import { describe, expect, it } from 'vitest'
import { migrate, schemaVersion } from '../../../src-main/store/db'
import { openBareDatabase, tableNames } from '../helpers'

const CONVERSATION = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] })

function migratedTo1() {
  const { db } = openBareDatabase()
  migrate(db, 0)
  migrate(db, 1)
  return db
}

describe('migration 0001-datasets (0 → 1)', () => {
  it('creates the dataset tables and sets user_version 1', () => {
    const db = migratedTo1()
    expect(schemaVersion(db)).toBe(1)
    expect(tableNames(db)).toEqual(
      expect.arrayContaining([
        'datasets',
        'samples',
        'sample_revisions',
        'dataset_versions',
        'dataset_version_samples'
      ])
    )
  })

  it('fills defaults: ISO-8601 UTC timestamps, empty tags, train split', () => {
    const db = migratedTo1()
    db.prepare("INSERT INTO datasets (id, name) VALUES (1, 'd')").run()
    db.prepare('INSERT INTO samples (dataset_id, conversation, content_hash) VALUES (1, ?, ?)').run(
      CONVERSATION,
      'h'
    )
    const sample = db.prepare('SELECT tags, split, created_at FROM samples').get() as Record<string, string>
    expect(sample.tags).toBe('[]')
    expect(sample.split).toBe('train')
    expect(sample.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  })

  it('enforces dataset name uniqueness regardless of case', () => {
    const db = migratedTo1()
    db.prepare("INSERT INTO datasets (name) VALUES ('Chat')").run()
    expect(() => db.prepare("INSERT INTO datasets (name) VALUES ('chat')").run()).toThrow(/UNIQUE/)
  })

  it('checks splits, tags and the conversation shape', () => {
    const db = migratedTo1()
    db.prepare("INSERT INTO datasets (id, name) VALUES (1, 'd')").run()
    const insert = db.prepare(
      'INSERT INTO samples (dataset_id, conversation, tags, split, content_hash) VALUES (1, ?, ?, ?, ?)'
    )
    expect(() => insert.run(CONVERSATION, '[]', 'dev', 'h')).toThrow(/CHECK constraint failed/)
    expect(() => insert.run(CONVERSATION, '{}', 'train', 'h')).toThrow(/CHECK constraint failed/)
    expect(() => insert.run('{"prompt":"x"}', '[]', 'train', 'h')).toThrow(/CHECK constraint failed/)
    expect(() => insert.run('not json', '[]', 'train', 'h')).toThrow(/CHECK constraint failed/)
    expect(insert.run(CONVERSATION, '["a"]', 'test', 'h').changes).toBe(1)
  })

  it('cascades a dataset delete to its samples, revisions and versions', () => {
    const db = migratedTo1()
    db.exec(`
      INSERT INTO datasets (id, name) VALUES (1, 'd');
      INSERT INTO samples (id, dataset_id, conversation, content_hash) VALUES (1, 1, '${CONVERSATION}', 'h');
      INSERT INTO sample_revisions (sample_id, revision, conversation, tags, split) VALUES (1, 1, '${CONVERSATION}', '[]', 'train');
      INSERT INTO dataset_versions (id, dataset_id, version, content_hash, sample_count) VALUES (1, 1, 1, 'v', 1);
      INSERT INTO dataset_version_samples (version_id, position, sample_id, sample_revision, conversation, tags, split, content_hash)
        VALUES (1, 0, 1, 1, '${CONVERSATION}', '[]', 'train', 'h');
    `)
    db.prepare('DELETE FROM datasets WHERE id = 1').run()
    for (const table of ['samples', 'sample_revisions', 'dataset_versions', 'dataset_version_samples']) {
      expect(db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get(), table).toBe(0)
    }
  })

  it('refuses a sample in a dataset that does not exist', () => {
    const db = migratedTo1()
    const insert = db.prepare(
      'INSERT INTO samples (dataset_id, conversation, content_hash) VALUES (99, ?, ?)'
    )
    expect(() => insert.run(CONVERSATION, 'h')).toThrow(
      expect.objectContaining({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' })
    )
  })

  it('makes versions, their frozen content and revisions immutable, but lets provenance go NULL', () => {
    const db = migratedTo1()
    db.exec(`
      INSERT INTO datasets (id, name) VALUES (1, 'd');
      INSERT INTO samples (id, dataset_id, conversation, content_hash) VALUES (1, 1, '${CONVERSATION}', 'h');
      INSERT INTO sample_revisions (sample_id, revision, conversation, tags, split) VALUES (1, 1, '${CONVERSATION}', '[]', 'train');
      INSERT INTO dataset_versions (id, dataset_id, version, content_hash, sample_count) VALUES (1, 1, 1, 'v', 1);
      INSERT INTO dataset_version_samples (version_id, position, sample_id, sample_revision, conversation, tags, split, content_hash)
        VALUES (1, 0, 1, 1, '${CONVERSATION}', '[]', 'train', 'h');
    `)
    expect(() => db.exec("UPDATE dataset_versions SET note = 'x'")).toThrow(
      /dataset_versions rows are immutable/
    )
    expect(() => db.exec("UPDATE dataset_version_samples SET split = 'test'")).toThrow(/content is immutable/)
    expect(() => db.exec("UPDATE sample_revisions SET note = 'x'")).toThrow(
      /sample_revisions rows are immutable/
    )

    db.exec('DELETE FROM samples WHERE id = 1')
    const frozen = db.prepare('SELECT sample_id, conversation FROM dataset_version_samples').get()
    expect(frozen).toEqual({ sample_id: null, conversation: CONVERSATION })
  })

  it('never reuses a purged sample id', () => {
    const db = migratedTo1()
    db.prepare("INSERT INTO datasets (id, name) VALUES (1, 'd')").run()
    const insert = db.prepare(
      'INSERT INTO samples (dataset_id, conversation, content_hash) VALUES (1, ?, ?) RETURNING id'
    )
    const first = insert.pluck().get(CONVERSATION, 'h') as number
    db.prepare('DELETE FROM samples WHERE id = ?').run(first)
    expect(insert.pluck().get(CONVERSATION, 'h')).toBe(first + 1)
  })
})

import { existsSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import {
  BUSY_TIMEOUT_MS,
  LATEST_SCHEMA_VERSION,
  SchemaTooNewError,
  migrate,
  openDatabase,
  schemaVersion
} from '../../src-main/store/db'
import { MIGRATIONS } from '../../src-main/store/migrations'
import { makeTempDir, openBareDatabase, tableNames } from './helpers'

describe('openDatabase', () => {
  it('creates missing parent folders and migrates to the latest schema', () => {
    const file = join(makeTempDir(), 'a', 'b', 'studio.db')
    const db = openDatabase(file)
    try {
      expect(existsSync(file)).toBe(true)
      expect(schemaVersion(db)).toBe(LATEST_SCHEMA_VERSION)
      expect(tableNames(db)).toEqual(
        expect.arrayContaining(['datasets', 'runs', 'evaluations', 'arena_battles'])
      )
    } finally {
      db.close()
    }
  })

  it('sets WAL, foreign keys, busy timeout and synchronous NORMAL', () => {
    const { db } = openBareDatabase()
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1)
    expect(db.pragma('busy_timeout', { simple: true })).toBe(BUSY_TIMEOUT_MS)
    // 1 = NORMAL (0 OFF, 2 FULL, 3 EXTRA)
    expect(db.pragma('synchronous', { simple: true })).toBe(1)
  })

  it('leaves the schema alone when migrate is false', () => {
    const { db } = openBareDatabase()
    expect(schemaVersion(db)).toBe(0)
    expect(tableNames(db)).toEqual([])
  })

  it('refuses a database from a newer version, naming the file and both versions', () => {
    const file = join(makeTempDir(), 'studio.db')
    const raw = new Database(file)
    raw.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`)
    raw.close()

    let caught: unknown
    try {
      openDatabase(file)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(SchemaTooNewError)
    const error = caught as SchemaTooNewError
    expect(error.name).toBe('SchemaTooNewError')
    expect(error.message).toContain(file)
    expect(error.message).toContain(`schema version ${LATEST_SCHEMA_VERSION + 1}`)
    expect(error.message).toContain(`up to ${LATEST_SCHEMA_VERSION}`)
    expect(error.message).toMatch(/Upgrade Finetune Studio/)
    // Refused means untouched: no table was created in it.
    const check = new Database(file)
    expect(tableNames(check)).toEqual([])
    check.close()
  })

  it('lets two connections share one file (main process and job worker)', () => {
    const file = join(makeTempDir(), 'studio.db')
    const first = openDatabase(file)
    const second = openDatabase(file)
    try {
      first.prepare("INSERT INTO datasets (name) VALUES ('shared')").run()
      expect(second.prepare('SELECT name FROM datasets').pluck().all()).toEqual(['shared'])
    } finally {
      first.close()
      second.close()
    }
  })
})

describe('migrate', () => {
  it('lists migrations with consecutive versions from 1, the last being LATEST_SCHEMA_VERSION', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, index) => index + 1))
    expect(LATEST_SCHEMA_VERSION).toBe(MIGRATIONS.length)
    for (const m of MIGRATIONS) expect(m.name).toMatch(new RegExp(`^${String(m.version).padStart(4, '0')}-`))
  })

  it('stops at the target version and can continue later', () => {
    const { db } = openBareDatabase()
    migrate(db, 1)
    expect(schemaVersion(db)).toBe(1)
    expect(tableNames(db)).toContain('datasets')
    expect(tableNames(db)).not.toContain('runs')
    migrate(db)
    expect(schemaVersion(db)).toBe(LATEST_SCHEMA_VERSION)
    expect(tableNames(db)).toContain('runs')
  })

  it('is a no-op when the schema is current', () => {
    const { db } = openBareDatabase()
    migrate(db)
    db.prepare("INSERT INTO datasets (name) VALUES ('kept')").run()
    migrate(db)
    expect(db.prepare('SELECT name FROM datasets').pluck().all()).toEqual(['kept'])
  })

  it('runs all pending migrations in one transaction: a failure leaves the database as it was', () => {
    const { db } = openBareDatabase()
    migrate(db, 1)
    // Makes migration 0002 fail halfway through its script: base_models is created before runs.
    db.exec('CREATE TABLE runs (id INTEGER PRIMARY KEY)')
    expect(() => migrate(db)).toThrow(/0002-models-runs failed: .*runs already exists/)
    expect(schemaVersion(db)).toBe(1)
    expect(tableNames(db)).not.toContain('base_models')
    expect(tableNames(db)).not.toContain('evaluations')
  })

  it('rejects a target it does not know', () => {
    const { db } = openBareDatabase()
    expect(() => migrate(db, LATEST_SCHEMA_VERSION + 1)).toThrow(/target version/)
    expect(() => migrate(db, 1.5)).toThrow(/target version/)
  })
})

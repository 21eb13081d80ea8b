import type Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { migrate, schemaVersion } from '../../../src-main/store/db'
import { tableNames } from '../helpers'
import { databaseAt, seedDatasetVersion, seedRunInputs } from './seed'

/** A version-1 database holding one dataset with one sample and one cut version. */
function seededAt1(): Database.Database {
  const db = databaseAt(1)
  seedDatasetVersion(db)
  return db
}

const insertRun = `INSERT INTO runs (id, name, recipe_id, recipe_version, base_model_id, dataset_version_id, config, status)
  VALUES (@id, 'r', 1, 1, @baseModelId, 1, '{}', @status)`

describe('migration 0002-models-runs (1 → 2)', () => {
  it('adds the model and run tables and keeps the existing rows', () => {
    const db = seededAt1()
    migrate(db, 2)
    expect(schemaVersion(db)).toBe(2)
    expect(tableNames(db)).toEqual(
      expect.arrayContaining(['base_models', 'recipes', 'runs', 'run_metrics', 'checkpoints'])
    )
    expect(db.prepare('SELECT name FROM datasets').pluck().all()).toEqual(['seeded'])
    expect(db.prepare('SELECT content_hash FROM dataset_versions').pluck().all()).toEqual(['v1'])
  })

  it('lets a run point at a dataset version cut before the migration', () => {
    const db = seededAt1()
    migrate(db, 2)
    seedRunInputs(db)
    db.prepare(insertRun).run({ id: 1, baseModelId: 1, status: 'queued' })
    expect(db.prepare('SELECT dataset_version_id FROM runs').pluck().get()).toBe(1)
  })

  it('refuses a run whose base model does not exist', () => {
    const db = seededAt1()
    migrate(db, 2)
    seedRunInputs(db)
    expect(() => db.prepare(insertRun).run({ id: 1, baseModelId: 42, status: 'queued' })).toThrow(
      expect.objectContaining({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' })
    )
  })

  it('refuses deleting a dataset, model or recipe that a run used', () => {
    const db = seededAt1()
    migrate(db, 2)
    seedRunInputs(db)
    db.prepare(insertRun).run({ id: 1, baseModelId: 1, status: 'queued' })
    const foreignKeyError = expect.objectContaining({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' })
    expect(() => db.exec('DELETE FROM datasets WHERE id = 1')).toThrow(foreignKeyError)
    expect(() => db.exec('DELETE FROM base_models WHERE id = 1')).toThrow(foreignKeyError)
    expect(() => db.exec('DELETE FROM recipes WHERE id = 1')).toThrow(foreignKeyError)
  })

  it('checks the run status', () => {
    const db = seededAt1()
    migrate(db, 2)
    seedRunInputs(db)
    expect(() => db.prepare(insertRun).run({ id: 1, baseModelId: 1, status: 'done' })).toThrow(
      /CHECK constraint failed/
    )
  })

  it('cascades a run delete to its metrics and checkpoints; one metric point per (run, name, step)', () => {
    const db = seededAt1()
    migrate(db, 2)
    seedRunInputs(db)
    db.prepare(insertRun).run({ id: 1, baseModelId: 1, status: 'completed' })
    db.exec(`
      INSERT INTO run_metrics (run_id, name, step, value) VALUES (1, 'loss', 1, 2.5);
      INSERT INTO checkpoints (run_id, step, path) VALUES (1, 10, '/c');
    `)
    expect(() =>
      db.exec("INSERT INTO run_metrics (run_id, name, step, value) VALUES (1, 'loss', 1, 2.0)")
    ).toThrow(/UNIQUE/)
    db.exec('DELETE FROM runs WHERE id = 1')
    expect(db.prepare('SELECT COUNT(*) FROM run_metrics').pluck().get()).toBe(0)
    expect(db.prepare('SELECT COUNT(*) FROM checkpoints').pluck().get()).toBe(0)
  })
})

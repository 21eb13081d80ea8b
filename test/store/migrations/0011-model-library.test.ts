import { describe, expect, it } from 'vitest'
import { migrate, schemaVersion } from '../../../src-main/store/db'
import { createModelsRepo } from '../../../src-main/store/repos/models'
import { databaseAt, seedFinishedRun } from './seed'

describe('migration 0011-model-library (10 → 11)', () => {
  it('keeps every model listed and its runs pointing at it; removing one keeps the run whole', () => {
    const db = databaseAt(10)
    seedFinishedRun(db, { id: 7 })
    migrate(db, 11)
    expect(schemaVersion(db)).toBe(11)
    const models = createModelsRepo(db)
    expect(models.list().map((m) => m.name)).toEqual(['m'])
    expect(models.remove(1)).toBe(true)
    expect(models.list()).toEqual([])
    // The row stays, so the run's foreign key and what it records of the model stay too.
    expect(db.prepare('SELECT base_model_id FROM runs WHERE id = 7').get()).toEqual({ base_model_id: 1 })
    expect(models.get(1)).toMatchObject({ name: 'm', path: '/m', contentHash: 'mh' })
  })

  it('creates the watched folders table, one row per path', () => {
    const db = databaseAt(10)
    migrate(db, 11)
    const add = db.prepare('INSERT INTO model_folders (path) VALUES (?) ON CONFLICT DO NOTHING')
    add.run('/models')
    add.run('/models')
    expect(db.prepare('SELECT path FROM model_folders').all()).toEqual([{ path: '/models' }])
  })
})

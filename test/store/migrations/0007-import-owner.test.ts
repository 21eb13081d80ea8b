import { describe, expect, it } from 'vitest'
import { migrate, schemaVersion } from '../../../src-main/store/db'
import { openBareDatabase } from '../helpers'

describe('migration 0007-import-owner (6 → 7)', () => {
  it('adds datasets.import_pid, NULL for existing datasets, hidden or not', () => {
    const { db } = openBareDatabase()
    migrate(db, 6)
    db.exec(`
      INSERT INTO datasets (id, name) VALUES (1, 'visible');
      INSERT INTO datasets (id, name, import_heartbeat_at) VALUES (2, 'importing', '2024-01-01T00:00:00.000Z');
    `)
    migrate(db, 7)
    expect(schemaVersion(db)).toBe(7)
    expect(
      db.prepare('SELECT id, name, import_heartbeat_at, import_pid FROM datasets ORDER BY id').all()
    ).toEqual([
      { id: 1, name: 'visible', import_heartbeat_at: null, import_pid: null },
      { id: 2, name: 'importing', import_heartbeat_at: '2024-01-01T00:00:00.000Z', import_pid: null }
    ])
  })
})

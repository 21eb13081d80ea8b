import { describe, expect, it } from 'vitest'
import { migrate, schemaVersion } from '../../../src-main/store/db'
import { tableNames } from '../helpers'
import { databaseAt, seedFinishedRun } from './seed'

/** A version-4 database holding one finished run with a metric point. */
function seededAt4() {
  const db = databaseAt(4)
  seedFinishedRun(db, { id: 1 })
  db.exec(`INSERT INTO run_metrics (run_id, name, step, value) VALUES (1, 'loss', 1, 2.5);`)
  return db
}

describe('migration 0005-run-control (4 → 5)', () => {
  it('adds device, owner, heartbeat, control and progress to runs, keeping existing runs as they were', () => {
    const db = seededAt4()
    migrate(db, 5)
    expect(schemaVersion(db)).toBe(5)
    expect(db.prepare('SELECT status, device, owner_id, control, progress FROM runs').get()).toEqual({
      status: 'completed',
      device: 'cpu',
      owner_id: null,
      control: null,
      progress: null
    })
    expect(db.prepare('SELECT value FROM run_metrics').pluck().get()).toBe(2.5)
    expect(tableNames(db)).toContain('run_logs')
  })

  it('checks device, control and progress values', () => {
    const db = seededAt4()
    migrate(db, 5)
    expect(() => db.exec("UPDATE runs SET device = 'tpu'")).toThrow(/CHECK constraint failed/)
    expect(() => db.exec("UPDATE runs SET control = 'explode'")).toThrow(/CHECK constraint failed/)
    expect(() => db.exec("UPDATE runs SET progress = 'not json'")).toThrow(/CHECK constraint failed/)
    db.exec("UPDATE runs SET control = 'pause', status = 'stopped'")
    expect(db.prepare('SELECT status FROM runs').pluck().get()).toBe('stopped')
  })

  it('deletes a run’s log lines with the run', () => {
    const db = seededAt4()
    migrate(db, 5)
    db.exec("INSERT INTO run_logs (run_id, level, message) VALUES (1, 'info', 'queued')")
    expect(() => db.exec("INSERT INTO run_logs (run_id, level, message) VALUES (1, 'loud', 'x')")).toThrow(
      /CHECK constraint failed/
    )
    db.exec('DELETE FROM runs WHERE id = 1')
    expect(db.prepare('SELECT COUNT(*) FROM run_logs').pluck().get()).toBe(0)
  })
})

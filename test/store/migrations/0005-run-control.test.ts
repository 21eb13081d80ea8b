import { describe, expect, it } from 'vitest'
import { migrate, schemaVersion } from '../../../src-main/store/db'
import { openBareDatabase, tableNames } from '../helpers'

const CONVERSATION = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] })

/** A version-4 database holding one finished run with a metric point. */
function seededAt4() {
  const { db } = openBareDatabase()
  migrate(db, 4)
  db.exec(`
    INSERT INTO datasets (id, name) VALUES (1, 'seeded');
    INSERT INTO samples (id, dataset_id, conversation, content_hash) VALUES (1, 1, '${CONVERSATION}', 'h1');
    INSERT INTO dataset_versions (id, dataset_id, version, content_hash, sample_count) VALUES (1, 1, 1, 'v1', 1);
    INSERT INTO recipes (id, name, version) VALUES (1, 'sft', 1);
    INSERT INTO base_models (id, name, path, architecture, parameter_count, dtype, content_hash)
      VALUES (1, 'm', '/m', 'LlamaForCausalLM', 10, 'F32', 'mh');
    INSERT INTO runs (id, name, recipe_id, recipe_version, base_model_id, dataset_version_id, config, status)
      VALUES (1, 'r', 1, 1, 1, 1, '{}', 'completed');
    INSERT INTO run_metrics (run_id, name, step, value) VALUES (1, 'loss', 1, 2.5);
  `)
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

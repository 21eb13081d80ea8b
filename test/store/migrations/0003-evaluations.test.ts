import type Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { migrate, schemaVersion } from '../../../src-main/store/db'
import { tableNames } from '../helpers'
import { databaseAt, seedFinishedRun } from './seed'

/** A version-2 database with a finished run, one of its checkpoints and its metrics. */
function seededAt2(): Database.Database {
  const db = databaseAt(2)
  seedFinishedRun(db, { id: 1, config: '{"lr":0.001}' })
  db.exec(`
    INSERT INTO checkpoints (id, run_id, step, path) VALUES (1, 1, 100, '/ckpt/100');
    INSERT INTO run_metrics (run_id, name, step, value) VALUES (1, 'loss', 100, 1.25);
  `)
  return db
}

const insertEvaluation = `INSERT INTO evaluations (id, name, benchmark, run_id, checkpoint_id, base_model_id, status)
  VALUES (@id, 'e', 'arith', @runId, @checkpointId, @baseModelId, @status)`

describe('migration 0003-evaluations (2 → 3)', () => {
  it('adds the evaluation tables and keeps runs, checkpoints and metrics', () => {
    const db = seededAt2()
    migrate(db, 3)
    expect(schemaVersion(db)).toBe(3)
    expect(tableNames(db)).toEqual(
      expect.arrayContaining(['evaluations', 'evaluation_results', 'comparisons'])
    )
    expect(db.prepare('SELECT config FROM runs').pluck().get()).toBe('{"lr":0.001}')
    expect(db.prepare('SELECT path FROM checkpoints').pluck().get()).toBe('/ckpt/100')
    expect(db.prepare('SELECT value FROM run_metrics').pluck().get()).toBe(1.25)
  })

  it('evaluates a checkpoint that existed before the migration; deleting its run deletes the evaluation', () => {
    const db = seededAt2()
    migrate(db, 3)
    db.prepare(insertEvaluation).run({
      id: 1,
      runId: 1,
      checkpointId: 1,
      baseModelId: null,
      status: 'completed'
    })
    db.exec(
      "INSERT INTO evaluation_results (evaluation_id, sample_key, output, score) VALUES (1, 'q1', '4', 1)"
    )
    db.exec('DELETE FROM runs WHERE id = 1')
    expect(db.prepare('SELECT COUNT(*) FROM evaluations').pluck().get()).toBe(0)
    expect(db.prepare('SELECT COUNT(*) FROM evaluation_results').pluck().get()).toBe(0)
  })

  it('refuses an evaluation of a checkpoint that does not exist, and an unknown status', () => {
    const db = seededAt2()
    migrate(db, 3)
    expect(() =>
      db
        .prepare(insertEvaluation)
        .run({ id: 1, runId: null, checkpointId: 7, baseModelId: null, status: 'queued' })
    ).toThrow(expect.objectContaining({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' }))
    expect(() =>
      db
        .prepare(insertEvaluation)
        .run({ id: 1, runId: null, checkpointId: null, baseModelId: 1, status: 'done' })
    ).toThrow(/CHECK constraint failed/)
  })

  it('keeps a comparison when an evaluation is deleted, and checks the vote', () => {
    const db = seededAt2()
    migrate(db, 3)
    db.prepare(insertEvaluation).run({
      id: 1,
      runId: null,
      checkpointId: null,
      baseModelId: 1,
      status: 'completed'
    })
    db.exec(
      "INSERT INTO comparisons (id, prompt, evaluation_a_id, output_a, output_b) VALUES (1, 'p', 1, 'x', 'y')"
    )
    expect(() => db.exec("UPDATE comparisons SET vote = 'c' WHERE id = 1")).toThrow(/CHECK constraint failed/)
    db.exec('DELETE FROM evaluations WHERE id = 1')
    expect(db.prepare('SELECT evaluation_a_id, output_a FROM comparisons').get()).toEqual({
      evaluation_a_id: null,
      output_a: 'x'
    })
  })
})

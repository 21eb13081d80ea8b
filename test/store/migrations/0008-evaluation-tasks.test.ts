import { describe, expect, it } from 'vitest'
import { migrate, schemaVersion } from '../../../src-main/store/db'
import { tableNames } from '../helpers'
import { databaseAt, seedFinishedRun } from './seed'

describe('migration 0008-evaluation-tasks (7 → 8)', () => {
  it('keeps old metrics with their direction, and moves comparisons to the arena with their targets', () => {
    const db = databaseAt(7)
    seedFinishedRun(db, { id: 3 })
    db.exec(`
      INSERT INTO evaluations (id, name, benchmark, base_model_id, metrics, status)
        VALUES (1, 'story: base', 'story-requests', 1, '{"score":0.25,"held_out_loss":1.5}', 'completed');
      INSERT INTO evaluations (id, name, benchmark, run_id, metrics, status)
        VALUES (2, 'story: run 3', 'story-requests', 3, '{"score":1}', 'completed');
      INSERT INTO comparisons (id, prompt, evaluation_a_id, evaluation_b_id, output_a, output_b, vote)
        VALUES (1, 'Tell me a story', 1, 2, 'base text', 'tuned text', 'b');
      INSERT INTO comparisons (id, prompt, evaluation_a_id, evaluation_b_id, output_a, output_b)
        VALUES (2, 'Another', 1, NULL, 'x', 'y');
    `)
    migrate(db, 8)
    expect(schemaVersion(db)).toBe(8)
    expect(tableNames(db)).not.toContain('comparisons')

    const evaluations = db
      .prepare(
        'SELECT id, kind, target_key, target_label, metrics, primary_metric FROM evaluations ORDER BY id'
      )
      .all() as {
      id: number
      kind: string
      target_key: string
      target_label: string
      metrics: string
      primary_metric: string
    }[]
    expect(evaluations.map((e) => [e.kind, e.target_key, e.target_label, e.primary_metric])).toEqual([
      ['benchmark', 'base:1', 'story: base', 'score'],
      ['benchmark', 'run:3', 'story: run 3', 'score']
    ])
    expect(JSON.parse(evaluations[0].metrics)).toEqual({
      score: { value: 0.25, stderr: null, higherIsBetter: true },
      held_out_loss: { value: 1.5, stderr: null, higherIsBetter: false }
    })

    expect(
      db
        .prepare(
          'SELECT prompt, a_key, a_label, b_key, b_label, output_a, output_b, a_on_left, vote FROM arena_battles ORDER BY id'
        )
        .all()
    ).toEqual([
      {
        prompt: 'Tell me a story',
        a_key: 'base:1',
        a_label: 'story: base',
        b_key: 'run:3',
        b_label: 'story: run 3',
        output_a: 'base text',
        output_b: 'tuned text',
        a_on_left: 1,
        vote: 'b'
      },
      {
        prompt: 'Another',
        a_key: 'base:1',
        a_label: 'story: base',
        b_key: 'evaluation:deleted',
        b_label: 'a deleted evaluation',
        output_a: 'x',
        output_b: 'y',
        a_on_left: 1,
        vote: null
      }
    ])
  })

  it('refuses a vote the arena does not know', () => {
    const db = databaseAt(8)
    const insert = db.prepare(
      `INSERT INTO arena_battles (prompt, a_key, a_label, b_key, b_label, output_a, output_b, a_on_left, vote)
       VALUES ('p', 'base:1', 'm', 'base:2', 'n', 'x', 'y', 0, ?)`
    )
    expect(() => insert.run('both_bad')).not.toThrow()
    expect(() => insert.run('maybe')).toThrow(/CHECK constraint failed/)
  })
})

import { describe, expect, it } from 'vitest'
import { migrate, schemaVersion } from '../../../src-main/store/db'
import { databaseAt, seedFinishedRun } from './seed'

describe('migration 0010-exports (9 → 10)', () => {
  it('adds exports whose lineage outlives the checkpoint, run and model they came from', () => {
    const db = databaseAt(9)
    seedFinishedRun(db, { id: 7 })
    db.exec(
      "INSERT INTO checkpoints (id, run_id, step, path) VALUES (3, 7, 20, '/runs/7/checkpoints/step-20')"
    )
    migrate(db, 10)
    expect(schemaVersion(db)).toBe(10)
    db.exec(`
      INSERT INTO exports (id, source_kind, base_model_id, run_id, checkpoint_id, step, source_label,
        format, variant, path, in_store)
      VALUES (1, 'checkpoint', 1, 7, 3, 20, 'r @ step 20', 'gguf', 'Q8_0', '/s/exports/1/r.gguf', 1);
      INSERT INTO exports (id, source_kind, dataset_id, dataset_version_id, source_label, format,
        variant, path, in_store)
      VALUES (2, 'dataset', 1, 1, 'seeded v1', 'jsonl', 'messages', '/s/exports/2/seeded.jsonl', 1);
    `)
    const row = (id: number) =>
      db.prepare('SELECT * FROM exports WHERE id = ?').get(id) as Record<string, unknown>
    expect(row(1)).toMatchObject({ status: 'running', checkpoint_id: 3, run_id: 7, base_model_id: 1 })

    db.exec('DELETE FROM checkpoints WHERE id = 3')
    expect(row(1)).toMatchObject({ checkpoint_id: null, step: 20, run_id: 7, source_label: 'r @ step 20' })
    db.exec('DELETE FROM runs WHERE id = 7')
    expect(row(1)).toMatchObject({ run_id: null, base_model_id: 1, format: 'gguf', variant: 'Q8_0' })
    expect(row(2)).toMatchObject({ dataset_version_id: 1, format: 'jsonl' })
  })

  it('refuses an unknown format, source kind or status', () => {
    const db = databaseAt(10)
    const insert = (kind: string, format: string, status = 'running') =>
      db
        .prepare(
          `INSERT INTO exports (source_kind, source_label, format, path, in_store, status)
           VALUES (?, 'x', ?, '/x', 0, ?)`
        )
        .run(kind, format, status)
    expect(() => insert('model', 'onnx')).toThrow(/CHECK constraint/)
    expect(() => insert('folder', 'hf')).toThrow(/CHECK constraint/)
    expect(() => insert('model', 'hf', 'paused')).toThrow(/CHECK constraint/)
    expect(() => insert('model', 'hf', 'completed')).not.toThrow()
  })
})

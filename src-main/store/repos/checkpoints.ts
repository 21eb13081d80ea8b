/**
 * The checkpoints table: the steps of a run whose weights were saved, with the metrics at that
 * step. The files themselves live in the run's folder; these rows point at them.
 */
import type Database from 'better-sqlite3'
import type { RunCheckpoint, RunCheckpoints, RunStatus } from '../../../src-preload/contract'
import { StoreConflictError, isSqliteError } from '../errors'
import { parseNumberRecord } from '../json'
import { pageParams, type Page } from './sql'

export interface NewCheckpoint {
  step: number
  path: string
  metrics?: Record<string, number>
}

interface CheckpointRow {
  id: number
  run_id: number
  step: number
  path: string
  metrics: string
  created_at: string
}

function toCheckpoint(row: CheckpointRow): RunCheckpoint {
  return {
    id: row.id,
    step: row.step,
    path: row.path,
    metrics: parseNumberRecord(row.metrics, 'checkpoints.metrics'),
    createdAt: row.created_at
  }
}

function prepareStatements(db: Database.Database) {
  return {
    insert: db.prepare<{ runId: number; step: number; path: string; metrics: string }, CheckpointRow>(
      'INSERT INTO checkpoints (run_id, step, path, metrics) VALUES (@runId, @step, @path, @metrics) RETURNING *'
    ),
    ofRun: db.prepare<[number], CheckpointRow>('SELECT * FROM checkpoints WHERE run_id = ? ORDER BY step'),
    get: db.prepare<[number], CheckpointRow>('SELECT * FROM checkpoints WHERE id = ?'),
    runsWithCheckpoints: db.prepare<
      { limit: number; offset: number },
      { id: number; name: string; status: RunStatus; base_model_id: number }
    >(
      `SELECT r.id, r.name, r.status, r.base_model_id FROM runs r
       WHERE EXISTS (SELECT 1 FROM checkpoints c WHERE c.run_id = r.id)
       ORDER BY r.id DESC LIMIT @limit OFFSET @offset`
    ),
    latest: db.prepare<[number], CheckpointRow>(
      'SELECT * FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT 1'
    ),
    delete: db.prepare<[number]>('DELETE FROM checkpoints WHERE id = ?')
  }
}

/** `requireRun` throws the store's not-found error, naming the operation, unless the run exists. */
export function createCheckpointsRepo(
  db: Database.Database,
  requireRun: (operation: string, id: number) => void
) {
  const statements = prepareStatements(db)

  function checkpoints(runId: number): RunCheckpoint[] {
    return statements.ofRun.all(runId).map(toCheckpoint)
  }

  function addCheckpoint(runId: number, checkpoint: NewCheckpoint): RunCheckpoint {
    requireRun('runs.addCheckpoint', runId)
    try {
      const params = {
        runId,
        step: checkpoint.step,
        path: checkpoint.path,
        metrics: JSON.stringify(checkpoint.metrics ?? {})
      }
      return toCheckpoint(statements.insert.get(params)!)
    } catch (error) {
      if (isSqliteError(error, 'SQLITE_CONSTRAINT_UNIQUE')) {
        throw new StoreConflictError(
          `runs.addCheckpoint: run ${runId} already has a checkpoint at step ${checkpoint.step}`
        )
      }
      throw error
    }
  }

  return {
    addCheckpoint,
    checkpoints,
    /** One checkpoint by its id, with the run it belongs to; null when there is none. */
    checkpoint(id: number): (RunCheckpoint & { runId: number }) | null {
      const row = statements.get.get(id)
      return row ? { ...toCheckpoint(row), runId: row.run_id } : null
    },
    latestCheckpoint(runId: number): RunCheckpoint | null {
      const row = statements.latest.get(runId)
      return row ? toCheckpoint(row) : null
    },
    /** The newest runs that have checkpoints, each with its checkpoints in step order. */
    runCheckpoints(page?: Page): RunCheckpoints[] {
      return statements.runsWithCheckpoints.all(pageParams(page, 50)).map((run) => ({
        runId: run.id,
        runName: run.name,
        baseModelId: run.base_model_id,
        status: run.status,
        checkpoints: checkpoints(run.id)
      }))
    },
    /** Forgets a checkpoint row (retention); deleting its files is the caller's job. */
    deleteCheckpoint: (id: number): boolean => statements.delete.run(id).changes > 0
  }
}

/**
 * The exports table: weights and dataset files written for other tools, with their lineage. The
 * files live where `path` says (the store's exports/<id>/ or a path the user named); a row is
 * added before its job writes, so the id names the folder, and finished when the job ends.
 */
import type Database from 'better-sqlite3'
import type { ExportRecord, ExportSourceKind, ExportStatus } from '../../../src-preload/contract'
import { NOW_SQL } from './sql'

/** An export about to be written: where it comes from and what it will be. */
export interface NewExport {
  sourceKind: ExportSourceKind
  baseModelId?: number | null
  runId?: number | null
  checkpointId?: number | null
  step?: number | null
  datasetId?: number | null
  datasetVersionId?: number | null
  sourceLabel: string
  format: ExportRecord['format']
  variant: string
  inStore: boolean
}

export interface ExportFilter {
  baseModelId?: number
  runId?: number
  checkpointId?: number
}

interface ExportRow {
  id: number
  source_kind: ExportSourceKind
  base_model_id: number | null
  run_id: number | null
  checkpoint_id: number | null
  step: number | null
  dataset_id: number | null
  dataset_version_id: number | null
  source_label: string
  format: ExportRecord['format']
  variant: string
  path: string
  in_store: number
  bytes: number | null
  status: ExportStatus
  error: string | null
  job_id: string | null
  owner_pid: number | null
  created_at: string
  finished_at: string | null
}

function toExport(row: ExportRow): ExportRecord {
  return {
    id: row.id,
    sourceKind: row.source_kind,
    baseModelId: row.base_model_id,
    runId: row.run_id,
    checkpointId: row.checkpoint_id,
    step: row.step,
    datasetId: row.dataset_id,
    datasetVersionId: row.dataset_version_id,
    sourceLabel: row.source_label,
    format: row.format,
    variant: row.variant,
    path: row.path,
    inStore: row.in_store === 1,
    bytes: row.bytes,
    status: row.status,
    error: row.error,
    jobId: row.job_id,
    createdAt: row.created_at,
    finishedAt: row.finished_at
  }
}

function prepareStatements(db: Database.Database) {
  return {
    insert: db.prepare<Record<string, unknown>, ExportRow>(
      `INSERT INTO exports (source_kind, base_model_id, run_id, checkpoint_id, step, dataset_id,
         dataset_version_id, source_label, format, variant, path, in_store, owner_pid)
       VALUES (@sourceKind, @baseModelId, @runId, @checkpointId, @step, @datasetId,
         @datasetVersionId, @sourceLabel, @format, @variant, '', @inStore, @pid)
       RETURNING *`
    ),
    setPath: db.prepare<{ id: number; path: string; jobId: string | null }, ExportRow>(
      'UPDATE exports SET path = @path, job_id = @jobId WHERE id = @id RETURNING *'
    ),
    finish: db.prepare<{ id: number; status: ExportStatus; bytes: number | null; error: string | null }>(
      `UPDATE exports SET status = @status, bytes = @bytes, error = @error, finished_at = ${NOW_SQL}
       WHERE id = @id`
    ),
    get: db.prepare<[number], ExportRow>('SELECT * FROM exports WHERE id = ?'),
    list: db.prepare<
      { baseModelId: number | null; runId: number | null; checkpointId: number | null },
      ExportRow
    >(
      `SELECT * FROM exports
       WHERE (@baseModelId IS NULL OR base_model_id = @baseModelId)
         AND (@runId IS NULL OR run_id = @runId)
         AND (@checkpointId IS NULL OR checkpoint_id = @checkpointId)
       ORDER BY id DESC`
    ),
    running: db.prepare<[], ExportRow>("SELECT * FROM exports WHERE status = 'running'"),
    delete: db.prepare<[number]>('DELETE FROM exports WHERE id = ?')
  }
}

export function createExportsRepo(db: Database.Database) {
  const statements = prepareStatements(db)
  return {
    /** Records an export (of this process) before it is written; `path` and the job follow with `started`. */
    add(entry: NewExport): ExportRecord {
      return toExport(
        statements.insert.get({
          baseModelId: null,
          runId: null,
          checkpointId: null,
          step: null,
          datasetId: null,
          datasetVersionId: null,
          ...entry,
          inStore: entry.inStore ? 1 : 0,
          pid: process.pid
        })!
      )
    },
    /** Where the export is written and the job that writes it. */
    started(id: number, path: string, jobId: string | null): ExportRecord {
      return toExport(statements.setPath.get({ id, path, jobId })!)
    },
    finish(
      id: number,
      outcome: { status: Exclude<ExportStatus, 'running'>; bytes?: number; error?: string }
    ): void {
      statements.finish.run({
        id,
        status: outcome.status,
        bytes: outcome.bytes ?? null,
        error: outcome.error ?? null
      })
    },
    get(id: number): ExportRecord | null {
      const row = statements.get.get(id)
      return row ? toExport(row) : null
    },
    list(filter: ExportFilter = {}): ExportRecord[] {
      return statements.list
        .all({
          baseModelId: filter.baseModelId ?? null,
          runId: filter.runId ?? null,
          checkpointId: filter.checkpointId ?? null
        })
        .map(toExport)
    },
    /**
     * Exports left running by a process that is gone failed (their temporary files are removed by
     * the next writer into that folder); returns their ids. A live process's exports are its own.
     */
    interruptOrphans(alive: (pid: number) => boolean): number[] {
      const orphans = statements.running
        .all()
        .filter((row) => row.owner_pid === null || !alive(row.owner_pid))
      for (const { id } of orphans) {
        statements.finish.run({
          id,
          status: 'failed',
          bytes: null,
          error: 'interrupted: the process writing it ended'
        })
      }
      return orphans.map((row) => row.id)
    },
    delete: (id: number): boolean => statements.delete.run(id).changes > 0
  }
}

export type ExportsRepo = ReturnType<typeof createExportsRepo>

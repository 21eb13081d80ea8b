/**
 * What a run reports as it trains: metric points by step (table run_metrics) and log lines
 * (table run_logs), both only ever appended to, except that a resumed run replays the steps after
 * its checkpoint.
 */
import type Database from 'better-sqlite3'
import type { MetricPoint, RunLogLine } from '../../../src-preload/contract'
import { inTransaction } from './sql'

export interface MetricQuery {
  name?: string
  /** Only points with a larger step; -1 (the default) gives every point. */
  afterStep?: number
}

interface MetricRow {
  step: number
  name: string
  value: number | null
}

interface LogRow {
  id: number
  run_id: number
  at: string
  level: RunLogLine['level']
  message: string
}

function toMetricPoint(row: MetricRow): MetricPoint {
  return { step: row.step, name: row.name, value: row.value ?? Number.NaN }
}

function toLogLine(row: LogRow): RunLogLine {
  return { id: row.id, runId: row.run_id, at: row.at, level: row.level, message: row.message }
}

function prepareStatements(db: Database.Database) {
  return {
    upsertMetric: db.prepare<{ runId: number; step: number; name: string; value: number }>(
      'INSERT OR REPLACE INTO run_metrics (run_id, step, name, value) VALUES (@runId, @step, @name, @value)'
    ),
    metrics: db.prepare<{ runId: number; name: string | null; afterStep: number }, MetricRow>(
      `SELECT step, name, value FROM run_metrics
       WHERE run_id = @runId AND step > @afterStep AND (@name IS NULL OR name = @name)
       ORDER BY step, name`
    ),
    metricNames: db
      .prepare<[number], string>('SELECT DISTINCT name FROM run_metrics WHERE run_id = ? ORDER BY name')
      .pluck(),
    deleteMetricsAfter: db.prepare<[number, number]>('DELETE FROM run_metrics WHERE run_id = ? AND step > ?'),
    insertLog: db.prepare<{ runId: number; level: string; message: string }, LogRow>(
      'INSERT INTO run_logs (run_id, level, message) VALUES (@runId, @level, @message) RETURNING *'
    ),
    logs: db.prepare<{ runId: number; afterId: number; limit: number }, LogRow>(
      'SELECT * FROM run_logs WHERE run_id = @runId AND id > @afterId ORDER BY id LIMIT @limit'
    )
  }
}

/** `requireRun` throws the store's not-found error, naming the operation, unless the run exists. */
export function createRunReportsRepo(
  db: Database.Database,
  requireRun: (operation: string, id: number) => void
) {
  const statements = prepareStatements(db)

  /**
   * Writes a batch of points in one transaction (one fsync instead of one per point). A point
   * written again for the same run, metric and step replaces the old value, so a resumed run may
   * replay steps.
   */
  const appendMetrics = inTransaction(db, (runId: number, points: readonly MetricPoint[]): void => {
    requireRun('runs.appendMetrics', runId)
    for (const point of points)
      statements.upsertMetric.run({ runId, step: point.step, name: point.name, value: point.value })
  })

  return {
    appendMetrics,
    metrics(runId: number, query: MetricQuery = {}): MetricPoint[] {
      const params = { runId, name: query.name ?? null, afterStep: query.afterStep ?? -1 }
      return statements.metrics.all(params).map(toMetricPoint)
    },
    metricNames: (runId: number): string[] => statements.metricNames.all(runId),
    /** Forgets metric points after a step (a resumed run recomputes them). */
    deleteMetricsAfter(runId: number, step: number): void {
      statements.deleteMetricsAfter.run(runId, step)
    },
    appendLog(runId: number, level: RunLogLine['level'], message: string): RunLogLine {
      return toLogLine(statements.insertLog.get({ runId, level, message })!)
    },
    logs(runId: number, afterId = 0, limit = 1000): RunLogLine[] {
      return statements.logs.all({ runId, afterId, limit }).map(toLogLine)
    }
  }
}

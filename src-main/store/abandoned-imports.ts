/**
 * What killed imports leave behind. An import into a new dataset writes its samples batch by batch
 * into a dataset that stays hidden until the import commits (migration 0006); if its process dies,
 * those rows stay, invisible, holding their space (a few hundred MB for a large file). They are
 * removed whenever a store opens (openStore), so every door (app, server, CLI) and every job
 * worker clears them, and also when a new import starts.
 *
 * A hidden dataset counts as abandoned when the process that imports it is gone (migration 0007
 * records it), or when it has written no batch for ABANDONED_IMPORT_SECONDS (a process id reused
 * by another program, an import stalled for minutes, a dataset from before 0007).
 */
import type Database from 'better-sqlite3'
import { processExists } from '../processes'

export const ABANDONED_IMPORT_SECONDS = 120

/**
 * Samples deleted per transaction of a dead process's import: each holds the store's write lock
 * for a few tens of milliseconds, and grows the WAL by one batch at a time (the disk may be full).
 */
const ROWS_PER_DELETE = 5000

interface HiddenDataset {
  id: number
  import_pid: number | null
  import_heartbeat_at: string
}

/** Removes the hidden datasets of killed imports with their samples; returns how many. */
export function removeAbandonedImports(db: Database.Database): number {
  const hidden = db
    .prepare<[], HiddenDataset>(
      'SELECT id, import_pid, import_heartbeat_at FROM datasets WHERE import_heartbeat_at IS NOT NULL'
    )
    .all()
  const now = Date.now()
  let removed = 0
  for (const dataset of hidden) {
    const processGone = dataset.import_pid !== null && !processExists(dataset.import_pid)
    const silent = now - Date.parse(dataset.import_heartbeat_at) > ABANDONED_IMPORT_SECONDS * 1000
    if ((processGone || silent) && removeHiddenDataset(db, dataset, processGone)) removed++
  }
  return removed
}

function removeHiddenDataset(db: Database.Database, dataset: HiddenDataset, processGone: boolean): boolean {
  if (processGone) {
    // Nobody can write to it any more, so its samples may go a batch at a time. A live import that
    // merely went silent is removed by the one DELETE below instead, all at once: its commit then
    // finds its dataset gone and fails, rather than committing what is left of it.
    const deleteBatch = db.prepare<[number, number]>(
      'DELETE FROM samples WHERE id IN (SELECT id FROM samples WHERE dataset_id = ? LIMIT ?)'
    )
    let deleted: number
    do {
      deleted = deleteBatch.run(dataset.id, ROWS_PER_DELETE).changes
    } while (deleted > 0)
  }
  // Unless its import wrote a batch meanwhile: then it is alive after all.
  return (
    db
      .prepare<[number, string]>('DELETE FROM datasets WHERE id = ? AND import_heartbeat_at = ?')
      .run(dataset.id, dataset.import_heartbeat_at).changes > 0
  )
}

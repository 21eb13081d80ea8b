import type Database from 'better-sqlite3'

/**
 * The process that creates a dataset by import (migration 0006 hides such a dataset until the
 * import commits). With its process id recorded, the store can tell at once, when it opens, that an
 * import was killed (its process is gone) and remove the hidden rows it left, instead of waiting
 * for its heartbeat to grow old. NULL for datasets created before, and for every visible one.
 *
 * A shipped migration is frozen: never edit it, add a new one. It may import nothing from the
 * running code.
 */
export const version = 7

export function updateToSchemaVersion7(db: Database.Database): void {
  db.exec('ALTER TABLE datasets ADD COLUMN import_pid INTEGER')
}

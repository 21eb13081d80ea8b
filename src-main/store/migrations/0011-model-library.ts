import type Database from 'better-sqlite3'

/**
 * Models users already have: folders the user asks discovery to watch, and removing a model from
 * the list without losing the record of what a run trained from.
 *
 * runs.base_model_id references base_models with no ON DELETE (0002): a run always records exactly
 * what produced it, so a model a run used cannot be deleted. Removing a model therefore stamps
 * `removed_at`: the model leaves models.list and no new run may start from it, while every run,
 * evaluation and export that points at it keeps its name, path and hash. Registering the same
 * folder again clears the stamp (the path stays the key, as before).
 *
 * A shipped migration is frozen: never edit it, add a new one. It may import nothing from the
 * running code.
 */
export const version = 11

export function updateToSchemaVersion11(db: Database.Database): void {
  db.exec(`
    ALTER TABLE base_models ADD COLUMN removed_at TEXT;

    CREATE TABLE model_folders (
      path TEXT PRIMARY KEY,
      added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    ) WITHOUT ROWID;
  `)
}

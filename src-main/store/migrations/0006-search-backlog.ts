import type Database from 'better-sqlite3'
import { metaText } from './0004-dataset-curation'

/**
 * Search indexing after an import instead of inside it. Full-text indexing costs about twice as much
 * as writing the sample rows themselves, so a large import commits its samples with their ids listed
 * here as not yet searchable, and a background job (datasets/search-index.ts) indexes them in short
 * batches. Every other change (adding, editing, deleting one sample) still keeps the index in sync
 * by trigger; those triggers leave backlogged ids to the job, which indexes a sample's content as it
 * is when the job reaches it.
 *
 * And a dataset an import is still creating: it gets its samples batch by batch but stays hidden
 * (import_heartbeat_at set, refreshed by every write) until the import commits, so a new dataset's
 * import needs no staging copy; a dataset whose heartbeat stopped was left by a killed import and
 * is removed (see datasets/import.ts).
 *
 * The searchable text now includes a turn's reasoning (reasoning_content), so the index is rebuilt.
 *
 * A shipped migration is frozen: never edit it, add a new one. It may import nothing from the
 * running code (earlier migrations are frozen too, so their SQL pieces may be shared).
 */
export const version = 6

/**
 * The searchable text of a sample (replacing 0004's): every turn's reasoning, when it has any, and
 * content, chosen and rejected, one per line.
 */
export function bodyText(row: 'NEW' | 'samples'): string {
  const turns = (path: string) => `(SELECT group_concat(
      coalesce(value ->> '$.reasoning_content' || char(10), '') || (value ->> '$.content'), char(10))
    FROM json_each(${row}.conversation, '${path}'))`
  return `(coalesce(${turns('$.messages')}, '') || coalesce(char(10) || ${turns('$.rejected')}, ''))`
}

/** Whether the sample NEW is waiting in the backlog (ranges are few: one per import in flight). */
const IN_BACKLOG = 'EXISTS (SELECT 1 FROM sample_search_backlog WHERE NEW.id BETWEEN first_id AND last_id)'

export function updateToSchemaVersion6(db: Database.Database): void {
  db.exec(`
    ALTER TABLE datasets ADD COLUMN import_heartbeat_at TEXT;

    -- Ranges of sample ids not yet in sample_search (disjoint; an import's ids are consecutive).
    CREATE TABLE sample_search_backlog (
      first_id INTEGER PRIMARY KEY,
      last_id INTEGER NOT NULL CHECK (last_id >= first_id)
    );

    DROP TRIGGER sample_search_after_insert;
    CREATE TRIGGER sample_search_after_insert AFTER INSERT ON samples
    WHEN NOT ${IN_BACKLOG}
    BEGIN
      INSERT INTO sample_search (rowid, body, meta) VALUES (NEW.id, ${bodyText('NEW')}, ${metaText('NEW')});
    END;

    -- Deleting a rowid the index does not hold is harmless, so only the re-insert is conditional.
    DROP TRIGGER sample_search_after_update;
    CREATE TRIGGER sample_search_after_update AFTER UPDATE OF conversation, deleted_at, split, dataset_id ON samples
    WHEN OLD.conversation IS NOT NEW.conversation OR OLD.deleted_at IS NOT NEW.deleted_at
      OR OLD.split IS NOT NEW.split OR OLD.dataset_id IS NOT NEW.dataset_id
    BEGIN
      DELETE FROM sample_search WHERE rowid = OLD.id;
      INSERT INTO sample_search (rowid, body, meta)
        SELECT NEW.id, ${bodyText('NEW')}, ${metaText('NEW')} WHERE NOT ${IN_BACKLOG};
    END;

    INSERT INTO sample_search (sample_search) VALUES ('delete-all');
    INSERT INTO sample_search (rowid, body, meta)
      SELECT id, ${bodyText('samples')}, ${metaText('samples')} FROM samples;
  `)
}

import type Database from 'better-sqlite3'
import { metaText } from './0004-dataset-curation'
import { bodyText as conversationBodyText } from './0006-search-backlog'

/**
 * Raw-text samples (continued pre-training: `{"messages": [], "text"}`) are searchable by their
 * text. Only the triggers change: no sample held a text before this version, so the index needs
 * no rebuild.
 *
 * A shipped migration is frozen: never edit it, add a new one. It may import nothing from the
 * running code (earlier migrations are frozen too, so their SQL pieces may be shared).
 */
export const version = 9

/** The searchable text of a sample (replacing 0006's): a raw-text sample's text, then 0006's turns. */
export function bodyText(row: 'NEW' | 'samples'): string {
  return `(coalesce(${row}.conversation ->> '$.text' || char(10), '') || ${conversationBodyText(row)})`
}

export function updateToSchemaVersion9(db: Database.Database): void {
  // The triggers as 0006 made them, with the new body text.
  const inBacklog = 'EXISTS (SELECT 1 FROM sample_search_backlog WHERE NEW.id BETWEEN first_id AND last_id)'
  const meta = metaText('NEW')
  db.exec(`
    DROP TRIGGER sample_search_after_insert;
    CREATE TRIGGER sample_search_after_insert AFTER INSERT ON samples
    WHEN NOT ${inBacklog}
    BEGIN
      INSERT INTO sample_search (rowid, body, meta) VALUES (NEW.id, ${bodyText('NEW')}, ${meta});
    END;

    DROP TRIGGER sample_search_after_update;
    CREATE TRIGGER sample_search_after_update AFTER UPDATE OF conversation, deleted_at, split, dataset_id ON samples
    WHEN OLD.conversation IS NOT NEW.conversation OR OLD.deleted_at IS NOT NEW.deleted_at
      OR OLD.split IS NOT NEW.split OR OLD.dataset_id IS NOT NEW.dataset_id
    BEGIN
      DELETE FROM sample_search WHERE rowid = OLD.id;
      INSERT INTO sample_search (rowid, body, meta)
        SELECT NEW.id, ${bodyText('NEW')}, ${meta} WHERE NOT ${inBacklog};
    END;
  `)
}

import type Database from 'better-sqlite3'

/**
 * Dataset curation: full-text search over samples (FTS5, kept in sync by triggers), per-tokenizer
 * token counts, near-duplicate groups, and the columns and indexes that browsing sorts and
 * filters on.
 *
 * A shipped migration is frozen: never edit it, add a new one. It may import nothing from the
 * running code.
 */
export const version = 4

/**
 * The searchable text of a sample: the content of every turn, chosen and rejected, one per line.
 * Plain SQL (not a JS function) so that every connection, including a job worker's, keeps the
 * index in sync without registering anything.
 */
export function bodyText(row: 'NEW' | 'samples'): string {
  return `(
    coalesce((SELECT group_concat(value ->> '$.content', char(10))
              FROM json_each(${row}.conversation, '$.messages')), '')
    || coalesce(char(10) || (SELECT group_concat(value ->> '$.content', char(10))
                             FROM json_each(${row}.conversation, '$.rejected')), '')
  )`
}

/**
 * Tokens that let a search narrow itself without touching the samples table: the dataset
 * ("d<id>"), live or deleted, and the split. A search that filters only on these is answered by
 * the index alone, which is what keeps a count over a million samples fast.
 */
export function metaText(row: 'NEW' | 'samples'): string {
  return `('d' || ${row}.dataset_id || ' ' || CASE WHEN ${row}.deleted_at IS NULL THEN 'live' ELSE 'deleted' END
    || ' ' || ${row}.split)`
}

export function updateToSchemaVersion4(db: Database.Database): void {
  db.exec(`
    -- Contentless: the text lives in samples.conversation already; the index holds only what search
    -- needs. contentless_delete lets triggers remove rows by id.
    CREATE VIRTUAL TABLE sample_search USING fts5(
      body,
      meta,
      content = '',
      contentless_delete = 1,
      tokenize = 'unicode61 remove_diacritics 2'
    );
    -- Terms are gathered in memory up to this size before a segment is written (default 1 MiB):
    -- bulk imports write far fewer segments and merge less, about a third less CPU per row.
    INSERT INTO sample_search (sample_search, rank) VALUES ('hashsize', 33554432);
    INSERT INTO sample_search (rowid, body, meta)
      SELECT id, ${bodyText('samples')}, ${metaText('samples')} FROM samples;

    CREATE TRIGGER sample_search_after_insert AFTER INSERT ON samples
    BEGIN
      INSERT INTO sample_search (rowid, body, meta) VALUES (NEW.id, ${bodyText('NEW')}, ${metaText('NEW')});
    END;
    -- Edits of tags or rating rewrite the row too; only what the index holds reindexes it.
    CREATE TRIGGER sample_search_after_update AFTER UPDATE OF conversation, deleted_at, split, dataset_id ON samples
    WHEN OLD.conversation IS NOT NEW.conversation OR OLD.deleted_at IS NOT NEW.deleted_at
      OR OLD.split IS NOT NEW.split OR OLD.dataset_id IS NOT NEW.dataset_id
    BEGIN
      DELETE FROM sample_search WHERE rowid = OLD.id;
      INSERT INTO sample_search (rowid, body, meta) VALUES (NEW.id, ${bodyText('NEW')}, ${metaText('NEW')});
    END;
    CREATE TRIGGER sample_search_after_delete AFTER DELETE ON samples
    BEGIN
      DELETE FROM sample_search WHERE rowid = OLD.id;
    END;

    -- Filters and sorts on the turn count need no JSON parsing per row once indexed.
    ALTER TABLE samples ADD COLUMN message_count INTEGER
      GENERATED ALWAYS AS (json_array_length(conversation, '$.messages')) VIRTUAL;
    CREATE INDEX samples_by_message_count ON samples (dataset_id, message_count);
    CREATE INDEX samples_by_updated_at ON samples (dataset_id, updated_at);
    -- Counting a dataset's live samples (every list, every unfiltered page) from the index alone.
    CREATE INDEX samples_live ON samples (dataset_id, deleted_at);
    CREATE INDEX samples_by_split ON samples (dataset_id, split, id);

    -- Token length of a sample's chat-template rendering, per tokenizer ("default", "model:<id>").
    -- content_hash is the content that was measured: a count whose hash differs from the sample's
    -- current one is stale and ignored.
    CREATE TABLE sample_token_counts (
      tokenizer TEXT NOT NULL,
      sample_id INTEGER NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
      content_hash TEXT NOT NULL,
      tokens INTEGER NOT NULL CHECK (tokens >= 0),
      PRIMARY KEY (tokenizer, sample_id)
    ) WITHOUT ROWID;
    CREATE INDEX sample_token_counts_by_sample ON sample_token_counts (sample_id);

    -- The near-duplicate groups found by the last search in a dataset, with its settings.
    CREATE TABLE near_duplicate_searches (
      dataset_id INTEGER PRIMARY KEY REFERENCES datasets(id) ON DELETE CASCADE,
      threshold REAL NOT NULL,
      shingle_words INTEGER NOT NULL,
      num_hashes INTEGER NOT NULL,
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE TABLE near_duplicate_members (
      dataset_id INTEGER NOT NULL REFERENCES near_duplicate_searches(dataset_id) ON DELETE CASCADE,
      group_no INTEGER NOT NULL CHECK (group_no >= 0),
      sample_id INTEGER NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
      -- The group's estimated Jaccard similarity (the lowest over its linked pairs).
      similarity REAL NOT NULL,
      PRIMARY KEY (dataset_id, group_no, sample_id)
    ) WITHOUT ROWID;
    CREATE INDEX near_duplicate_members_by_sample ON near_duplicate_members (sample_id);
  `)
}

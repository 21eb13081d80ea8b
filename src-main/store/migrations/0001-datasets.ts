import type Database from 'better-sqlite3'

/**
 * Datasets, their samples with full revision history, and immutable versions.
 *
 * A shipped migration is frozen: never edit it, add a new one. It may import nothing from the
 * running code, whose names and types move on while this SQL must not.
 */
export const version = 1

export function updateToSchemaVersion1(db: Database.Database): void {
  db.exec(`
    CREATE TABLE datasets (
      id INTEGER PRIMARY KEY,
      -- NOCASE: "Chat" and "chat" side by side in a list would only confuse.
      name TEXT NOT NULL UNIQUE COLLATE NOCASE,
      description TEXT NOT NULL DEFAULT '',
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );

    -- AUTOINCREMENT so that a purged sample's id is never handed to another sample: frozen version
    -- rows keep the id they were cut from as provenance.
    CREATE TABLE samples (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
      conversation TEXT NOT NULL
        -- IS, not =: json_type gives NULL for a missing path, and a NULL check passes.
        CHECK (json_valid(conversation) AND json_type(conversation, '$.messages') IS 'array'),
      tags TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags) AND json_type(tags) = 'array'),
      split TEXT NOT NULL DEFAULT 'train' CHECK (split IN ('train', 'validation', 'test')),
      rating INTEGER CHECK (rating IS NULL OR typeof(rating) = 'integer'),
      source_file TEXT,
      source_line INTEGER,
      -- sha256 of the conversation's canonical JSON: finds duplicates and feeds version hashes.
      content_hash TEXT NOT NULL,
      -- The newest row of sample_revisions for this sample, kept here so lists need no join.
      revision INTEGER NOT NULL DEFAULT 1,
      deleted_at TEXT,
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE INDEX samples_by_dataset ON samples (dataset_id, id);
    CREATE INDEX samples_by_content_hash ON samples (dataset_id, content_hash);

    -- Every state a sample has had, revision 1 being its content at insert: undo is a new
    -- revision equal to an old one, so history only grows.
    CREATE TABLE sample_revisions (
      id INTEGER PRIMARY KEY,
      sample_id INTEGER NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
      revision INTEGER NOT NULL CHECK (revision >= 1),
      conversation TEXT NOT NULL CHECK (json_valid(conversation)),
      tags TEXT NOT NULL CHECK (json_valid(tags)),
      split TEXT NOT NULL CHECK (split IN ('train', 'validation', 'test')),
      rating INTEGER,
      author TEXT NOT NULL DEFAULT '',
      note TEXT NOT NULL DEFAULT '',
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      UNIQUE (sample_id, revision)
    );
    CREATE TRIGGER sample_revisions_are_immutable BEFORE UPDATE ON sample_revisions
    BEGIN
      SELECT RAISE(ABORT, 'sample_revisions rows are immutable');
    END;

    CREATE TABLE dataset_versions (
      id INTEGER PRIMARY KEY,
      dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
      version INTEGER NOT NULL CHECK (version >= 1),
      content_hash TEXT NOT NULL,
      sample_count INTEGER NOT NULL CHECK (sample_count >= 0),
      note TEXT NOT NULL DEFAULT '',
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      UNIQUE (dataset_id, version)
    );
    -- Runs point at versions as the exact data they trained on, so a version never changes.
    -- Deleting one (with its dataset) stays possible; runs that use it block that by foreign key.
    CREATE TRIGGER dataset_versions_are_immutable BEFORE UPDATE ON dataset_versions
    BEGIN
      SELECT RAISE(ABORT, 'dataset_versions rows are immutable');
    END;

    -- The frozen content of a version. Samples keep changing after a cut, so the content is
    -- copied here rather than referenced.
    CREATE TABLE dataset_version_samples (
      version_id INTEGER NOT NULL REFERENCES dataset_versions(id) ON DELETE CASCADE,
      position INTEGER NOT NULL CHECK (position >= 0),
      -- Provenance only: becomes NULL when the sample is purged later.
      sample_id INTEGER REFERENCES samples(id) ON DELETE SET NULL,
      sample_revision INTEGER NOT NULL,
      conversation TEXT NOT NULL CHECK (json_valid(conversation)),
      tags TEXT NOT NULL CHECK (json_valid(tags)),
      split TEXT NOT NULL CHECK (split IN ('train', 'validation', 'test')),
      rating INTEGER,
      content_hash TEXT NOT NULL,
      PRIMARY KEY (version_id, position)
    ) WITHOUT ROWID;
    -- Without it, purging a sample scans every frozen row to apply ON DELETE SET NULL.
    CREATE INDEX dataset_version_samples_by_sample ON dataset_version_samples (sample_id);
    -- Only the provenance column may change (by ON DELETE SET NULL); the content may not.
    CREATE TRIGGER dataset_version_samples_are_immutable
    BEFORE UPDATE OF version_id, position, sample_revision, conversation, tags, split, rating, content_hash
    ON dataset_version_samples
    BEGIN
      SELECT RAISE(ABORT, 'dataset_version_samples content is immutable');
    END;
  `)
}

import type Database from 'better-sqlite3'

/**
 * Base models, recipes, runs with their metrics and checkpoints.
 *
 * A shipped migration is frozen: never edit it, add a new one. (Before the first release this one was
 * amended: statuses stopped and cancelled, and a nullable dataset version for runs from a data file.)
 */
export const version = 2

export function updateToSchemaVersion2(db: Database.Database): void {
  db.exec(`
    CREATE TABLE base_models (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      path TEXT NOT NULL UNIQUE,
      architecture TEXT NOT NULL,
      parameter_count INTEGER NOT NULL CHECK (parameter_count >= 0),
      dtype TEXT NOT NULL,
      content_hash TEXT NOT NULL,
      config TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(config)),
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );

    CREATE TABLE recipes (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL UNIQUE,
      version INTEGER NOT NULL CHECK (version >= 1),
      description TEXT NOT NULL DEFAULT '',
      params_schema TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params_schema)),
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );

    -- Foreign keys to inputs have no ON DELETE: a model, recipe or dataset version that a run used
    -- cannot be deleted, because a run always records exactly what produced it.
    CREATE TABLE runs (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      recipe_id INTEGER NOT NULL REFERENCES recipes(id),
      -- recipes.version moves on when a recipe file changes; this is the one the run used.
      recipe_version INTEGER NOT NULL,
      base_model_id INTEGER NOT NULL REFERENCES base_models(id),
      -- NULL for a run trained from a data file (\`finetune-studio train --store\`): its config records
      -- the file and its hash instead.
      dataset_version_id INTEGER REFERENCES dataset_versions(id),
      config TEXT NOT NULL CHECK (json_valid(config)),
      status TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'paused', 'stopping', 'stopped', 'completed', 'failed',
                          'cancelled', 'interrupted')),
      error TEXT,
      out_dir TEXT,
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      started_at TEXT,
      finished_at TEXT
    );
    CREATE INDEX runs_by_status ON runs (status);
    CREATE INDEX runs_by_recipe ON runs (recipe_id);
    CREATE INDEX runs_by_base_model ON runs (base_model_id);
    CREATE INDEX runs_by_dataset_version ON runs (dataset_version_id);

    CREATE TABLE run_metrics (
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      step INTEGER NOT NULL,
      -- SQLite stores NaN as NULL; a diverged loss is still worth charting, so NULL reads back as NaN.
      value REAL,
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      PRIMARY KEY (run_id, name, step)
    ) WITHOUT ROWID;
    -- Live charts ask for every metric after a step.
    CREATE INDEX run_metrics_by_step ON run_metrics (run_id, step);

    CREATE TABLE checkpoints (
      id INTEGER PRIMARY KEY,
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      step INTEGER NOT NULL CHECK (step >= 0),
      path TEXT NOT NULL,
      metrics TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metrics)),
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      UNIQUE (run_id, step)
    );
  `)
}

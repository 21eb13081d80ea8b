import type Database from 'better-sqlite3'

/**
 * Benchmark evaluations with per-sample results, and pairwise comparisons.
 *
 * A shipped migration is frozen: never edit it, add a new one.
 */
export const version = 3

export function updateToSchemaVersion3(db: Database.Database): void {
  db.exec(`
    -- An evaluation belongs to what it measured: deleting that run, checkpoint or model deletes it.
    CREATE TABLE evaluations (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      benchmark TEXT NOT NULL,
      run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
      checkpoint_id INTEGER REFERENCES checkpoints(id) ON DELETE CASCADE,
      base_model_id INTEGER REFERENCES base_models(id) ON DELETE CASCADE,
      config TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(config)),
      metrics TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metrics)),
      status TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'completed', 'failed', 'interrupted')),
      error TEXT,
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      finished_at TEXT
    );
    CREATE INDEX evaluations_by_run ON evaluations (run_id);
    CREATE INDEX evaluations_by_checkpoint ON evaluations (checkpoint_id);
    CREATE INDEX evaluations_by_base_model ON evaluations (base_model_id);

    CREATE TABLE evaluation_results (
      id INTEGER PRIMARY KEY,
      evaluation_id INTEGER NOT NULL REFERENCES evaluations(id) ON DELETE CASCADE,
      -- Identifies the benchmark item, so two evaluations of one benchmark can be joined item by item.
      sample_key TEXT NOT NULL,
      prompt TEXT NOT NULL DEFAULT '',
      output TEXT NOT NULL DEFAULT '',
      expected TEXT,
      score REAL,
      details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
      UNIQUE (evaluation_id, sample_key)
    );

    -- The outputs are copied in, so a vote keeps its meaning when an evaluation is deleted.
    CREATE TABLE comparisons (
      id INTEGER PRIMARY KEY,
      prompt TEXT NOT NULL,
      evaluation_a_id INTEGER REFERENCES evaluations(id) ON DELETE SET NULL,
      evaluation_b_id INTEGER REFERENCES evaluations(id) ON DELETE SET NULL,
      output_a TEXT NOT NULL,
      output_b TEXT NOT NULL,
      vote TEXT CHECK (vote IS NULL OR vote IN ('a', 'b', 'tie')),
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      voted_at TEXT
    );
    CREATE INDEX comparisons_by_evaluation_a ON comparisons (evaluation_a_id);
    CREATE INDEX comparisons_by_evaluation_b ON comparisons (evaluation_b_id);
  `)
}

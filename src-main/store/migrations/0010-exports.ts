import type Database from 'better-sqlite3'

/**
 * Exports: weights (a PEFT adapter, a merged HF folder in a chosen dtype, a GGUF file) and dataset
 * files written for other tools, each with what it was made from. The sources are kept as ids while
 * they exist and as a label always: removing a checkpoint (retention), a run or a model must not
 * remove the record of what an export on disk came from, so their keys fall to NULL instead.
 *
 * A shipped migration is frozen: never edit it, add a new one. It may import nothing from the
 * running code.
 */
export const version = 10

export function updateToSchemaVersion10(db: Database.Database): void {
  db.exec(`
    CREATE TABLE exports (
      id INTEGER PRIMARY KEY,
      source_kind TEXT NOT NULL CHECK (source_kind IN ('model', 'run', 'checkpoint', 'dataset')),
      -- The weights' base model (every weights export has one, unless exported from a bare folder).
      base_model_id INTEGER REFERENCES base_models(id) ON DELETE SET NULL,
      run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
      checkpoint_id INTEGER REFERENCES checkpoints(id) ON DELETE SET NULL,
      -- The checkpoint's step, kept when the checkpoint row goes.
      step INTEGER CHECK (step IS NULL OR step >= 0),
      dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
      dataset_version_id INTEGER REFERENCES dataset_versions(id) ON DELETE SET NULL,
      -- What the source was called when exported ("run-3 @ step 20", a model folder, a dataset).
      source_label TEXT NOT NULL,
      format TEXT NOT NULL CHECK (format IN ('peft', 'hf', 'gguf', 'jsonl')),
      -- hf: float32 | float16 | bfloat16; gguf: its tensor type (F16, Q8_0, …); jsonl: its layout.
      variant TEXT NOT NULL DEFAULT '',
      -- A file or a folder; inside the store (exports/<id>/…) unless the user named a path.
      path TEXT NOT NULL,
      in_store INTEGER NOT NULL CHECK (in_store IN (0, 1)),
      bytes INTEGER CHECK (bytes IS NULL OR bytes >= 0),
      status TEXT NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
      error TEXT,
      job_id TEXT,
      -- The process whose job writes it: a running export of a process that is gone failed.
      owner_pid INTEGER,
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      finished_at TEXT
    );
    CREATE INDEX exports_by_run ON exports (run_id);
    CREATE INDEX exports_by_model ON exports (base_model_id);
  `)
}

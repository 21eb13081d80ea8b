import type Database from 'better-sqlite3'

/**
 * Run control across processes: the device a run trains on (one run per device at a time), the
 * process that owns it (queues it or trains it) with a heartbeat, a control request another
 * process leaves for the owner (pause, resume, stop, cancel), the last progress report, and each
 * run's log lines.
 *
 * A shipped migration is frozen: never edit it, add a new one. It may import nothing from the
 * running code.
 */
export const version = 5

export function updateToSchemaVersion5(db: Database.Database): void {
  db.exec(`
    ALTER TABLE runs ADD COLUMN device TEXT NOT NULL DEFAULT 'cpu' CHECK (device IN ('cpu', 'cuda'));
    -- The owning API context (random per process start) and its process id; NULL once the run ended.
    ALTER TABLE runs ADD COLUMN owner_id TEXT;
    ALTER TABLE runs ADD COLUMN owner_pid INTEGER;
    -- Refreshed by the owner about twice a second; a stale heartbeat means the owner is gone.
    ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
    ALTER TABLE runs ADD COLUMN control TEXT
      CHECK (control IS NULL OR control IN ('pause', 'resume', 'stop', 'cancel'));
    ALTER TABLE runs ADD COLUMN progress TEXT CHECK (progress IS NULL OR json_valid(progress));
    CREATE INDEX runs_by_owner ON runs (owner_id);

    CREATE TABLE run_logs (
      id INTEGER PRIMARY KEY,
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      level TEXT NOT NULL CHECK (level IN ('info', 'warn', 'error')),
      message TEXT NOT NULL
    );
    CREATE INDEX run_logs_by_run ON run_logs (run_id, id);
  `)
}

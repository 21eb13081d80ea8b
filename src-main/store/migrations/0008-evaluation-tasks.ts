import type Database from 'better-sqlite3'

/**
 * Evaluations of tasks in the lm-evaluation-harness convention, and the blind arena.
 *
 * - evaluations.metrics now holds every metric with its standard error,
 *   `{"acc": {"value": 0.25, "stderr": 0.01, "higherIsBetter": true}}`; the plain numbers of the
 *   older benchmark evaluations are converted (no stderr; a loss is lower-is-better).
 * - evaluations gain what makes a result reusable and traceable: the task file and the hash of the
 *   file + its data, the target's key (`base:<id>`, `checkpoint:<id>`, `adapter:<base id>:<hash>`)
 *   and label as it was, and `reuse_key` (target × task hash × settings);
 *   and `owner_pid`, the process that evaluates it, so one left queued or running by a process that
 *   died can be told from one another process is working on.
 * - arena_battles replaces comparisons: two answers to one prompt, shown in random order, voted
 *   a / b / tie / both_bad. Who answered is kept as a key (`base:<id>`, `checkpoint:<id>`) and the
 *   label it had, so ratings survive deleting the model or run. The older comparisons are moved over
 *   with the targets of the evaluations they came from.
 *
 * A shipped migration is frozen: never edit it, add a new one. It may import nothing from the
 * running code.
 */
export const version = 8

export function updateToSchemaVersion8(db: Database.Database): void {
  db.exec(`
    ALTER TABLE evaluations ADD COLUMN kind TEXT NOT NULL DEFAULT 'benchmark'
      CHECK (kind IN ('benchmark', 'task', 'self_correction'));
    ALTER TABLE evaluations ADD COLUMN task_file TEXT;
    ALTER TABLE evaluations ADD COLUMN task_hash TEXT;
    ALTER TABLE evaluations ADD COLUMN target_key TEXT;
    ALTER TABLE evaluations ADD COLUMN target_label TEXT NOT NULL DEFAULT '';
    ALTER TABLE evaluations ADD COLUMN reuse_key TEXT;
    ALTER TABLE evaluations ADD COLUMN primary_metric TEXT;
    ALTER TABLE evaluations ADD COLUMN owner_pid INTEGER;
    CREATE INDEX evaluations_by_reuse_key ON evaluations (reuse_key) WHERE reuse_key IS NOT NULL;

    UPDATE evaluations SET
      target_key = CASE
        WHEN checkpoint_id IS NOT NULL THEN 'checkpoint:' || checkpoint_id
        WHEN base_model_id IS NOT NULL THEN 'base:' || base_model_id
        ELSE 'run:' || run_id
      END,
      target_label = name,
      metrics = (
        SELECT json_group_object(
          key,
          json_object(
            'value', value,
            'stderr', NULL,
            'higherIsBetter', json(CASE WHEN key LIKE '%loss%' THEN 'false' ELSE 'true' END)
          )
        )
        FROM json_each(evaluations.metrics)
      ),
      primary_metric = CASE WHEN json_extract(metrics, '$.score') IS NOT NULL THEN 'score' END;

    CREATE TABLE arena_battles (
      id INTEGER PRIMARY KEY,
      prompt TEXT NOT NULL,
      a_key TEXT NOT NULL,
      a_label TEXT NOT NULL,
      b_key TEXT NOT NULL,
      b_label TEXT NOT NULL,
      output_a TEXT NOT NULL,
      output_b TEXT NOT NULL,
      -- Which answer the voter saw on the left.
      a_on_left INTEGER NOT NULL CHECK (a_on_left IN (0, 1)),
      -- How the answers were made, and where the prompt came from.
      settings TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),
      vote TEXT CHECK (vote IS NULL OR vote IN ('a', 'b', 'tie', 'both_bad')),
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      voted_at TEXT
    );
    CREATE INDEX arena_battles_by_a ON arena_battles (a_key);
    CREATE INDEX arena_battles_by_b ON arena_battles (b_key);

    INSERT INTO arena_battles
      (prompt, a_key, a_label, b_key, b_label, output_a, output_b, a_on_left, vote, created_at, voted_at)
    SELECT c.prompt,
      CASE
        WHEN ea.checkpoint_id IS NOT NULL THEN 'checkpoint:' || ea.checkpoint_id
        WHEN ea.base_model_id IS NOT NULL THEN 'base:' || ea.base_model_id
        WHEN ea.run_id IS NOT NULL THEN 'run:' || ea.run_id
        ELSE 'evaluation:' || coalesce(c.evaluation_a_id, 'deleted')
      END,
      coalesce(ea.name, 'a deleted evaluation'),
      CASE
        WHEN eb.checkpoint_id IS NOT NULL THEN 'checkpoint:' || eb.checkpoint_id
        WHEN eb.base_model_id IS NOT NULL THEN 'base:' || eb.base_model_id
        WHEN eb.run_id IS NOT NULL THEN 'run:' || eb.run_id
        ELSE 'evaluation:' || coalesce(c.evaluation_b_id, 'deleted')
      END,
      coalesce(eb.name, 'a deleted evaluation'),
      c.output_a, c.output_b, 1, c.vote, c.created_at, c.voted_at
    FROM comparisons c
    LEFT JOIN evaluations ea ON ea.id = c.evaluation_a_id
    LEFT JOIN evaluations eb ON eb.id = c.evaluation_b_id
    ORDER BY c.id;

    DROP TABLE comparisons;
  `)
}

/**
 * Rows the migration tests seed before migrating, written as SQL of the schema they start from (the
 * repositories speak only the newest schema).
 */
import type Database from 'better-sqlite3'
import { migrate } from '../../../src-main/store/db'
import { openBareDatabase } from '../helpers'

const CONVERSATION = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] })

/** A database in a fresh temp folder migrated up to `version` (closed after the test). */
export function databaseAt(version: number): Database.Database {
  const { db } = openBareDatabase()
  migrate(db, version)
  return db
}

/** Dataset 1 'seeded' with sample 1 and version 1 (content hash 'v1'): schema version 1 on. */
export function seedDatasetVersion(db: Database.Database): void {
  db.exec(`
    INSERT INTO datasets (id, name) VALUES (1, 'seeded');
    INSERT INTO samples (id, dataset_id, conversation, content_hash) VALUES (1, 1, '${CONVERSATION}', 'h1');
    INSERT INTO dataset_versions (id, dataset_id, version, content_hash, sample_count) VALUES (1, 1, 1, 'v1', 1);
  `)
}

/** Recipe 1 'sft' and base model 1 'm': what a run points at besides its data, schema version 2 on. */
export function seedRunInputs(db: Database.Database): void {
  db.exec(`
    INSERT INTO recipes (id, name, version) VALUES (1, 'sft', 1);
    INSERT INTO base_models (id, name, path, architecture, parameter_count, dtype, content_hash)
      VALUES (1, 'm', '/m', 'LlamaForCausalLM', 10, 'F32', 'mh');
  `)
}

/** A completed run 'r' of recipe 1 on base model 1 and dataset version 1, with all three seeded. */
export function seedFinishedRun(db: Database.Database, run: { id: number; config?: string }): void {
  seedDatasetVersion(db)
  seedRunInputs(db)
  db.prepare(
    `INSERT INTO runs (id, name, recipe_id, recipe_version, base_model_id, dataset_version_id, config, status)
       VALUES (@id, 'r', 1, 1, 1, 1, @config, 'completed')`
  ).run({ id: run.id, config: run.config ?? '{}' })
}

/** Ids of the samples a full-text query finds, in id order (migration 0004 on). */
export function searchIds(db: Database.Database, query: string): number[] {
  return db
    .prepare<[string], number>('SELECT rowid FROM sample_search WHERE sample_search MATCH ? ORDER BY rowid')
    .pluck()
    .all(query)
}

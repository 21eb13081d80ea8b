import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { MIGRATIONS, type Migration } from './migrations'

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version

/** The database was written by a newer Finetune Studio; opening it here could corrupt it. */
export class SchemaTooNewError extends Error {
  override name = 'SchemaTooNewError'

  constructor(
    readonly file: string,
    readonly schemaVersion: number,
    readonly latestKnownVersion: number
  ) {
    super(
      `openDatabase: ${file} has schema version ${schemaVersion}, but this build of Finetune Studio ` +
        `knows versions up to ${latestKnownVersion}. Upgrade Finetune Studio to open it.`
    )
  }
}

/**
 * Opens (creating if needed) the SQLite file, sets the connection pragmas and brings the schema up
 * to date. `migrate: false` is for tests that build an older schema themselves.
 */
export function openDatabase(file: string, options: { migrate?: boolean } = {}): Database.Database {
  mkdirSync(dirname(file), { recursive: true })
  // Electron needs a better-sqlite3 build for its own ABI; `npm run app` compiles one and names it here.
  const nativeBinding = process.env.FINETUNE_STUDIO_SQLITE_BINDING
  const db = nativeBinding ? new Database(file, { nativeBinding }) : new Database(file)
  try {
    applyConnectionPragmas(db)
    refuseNewerSchema(db, file)
    if (options.migrate !== false) migrate(db)
    return db
  } catch (error) {
    db.close()
    throw error
  }
}

/** How long a connection waits for another's write transaction before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 60_000

function applyConnectionPragmas(db: Database.Database): void {
  // WAL lets the job worker write metrics while the UI reads; NORMAL is durable enough under WAL
  // (a power cut can lose the last commits, never corrupt) and much faster than FULL.
  db.pragma('journal_mode = WAL')
  db.pragma('foreign_keys = ON')
  // Writers wait for each other rather than fail: the longest write transaction is an import's
  // final copy into an existing dataset (about 1 s per 100k rows), and a training run's metric
  // write must outwait even a million-row one.
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
  db.pragma('synchronous = NORMAL')
}

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number
}

function refuseNewerSchema(db: Database.Database, file: string): void {
  const version = schemaVersion(db)
  if (version > LATEST_SCHEMA_VERSION) throw new SchemaTooNewError(file, version, LATEST_SCHEMA_VERSION)
}

/**
 * Runs every migration above the current schema version up to `target`, all in one transaction
 * that also sets user_version: a failure anywhere leaves the database exactly as it was.
 */
export function migrate(db: Database.Database, target: number = LATEST_SCHEMA_VERSION): void {
  if (!Number.isInteger(target) || target < 0 || target > LATEST_SCHEMA_VERSION) {
    throw new Error(
      `migrate: target version must be an integer in 0..${LATEST_SCHEMA_VERSION}, got ${target}`
    )
  }
  // IMMEDIATE takes the write lock before user_version is read, so two processes opening the same
  // fresh store cannot both decide to run the same migrations.
  db.transaction(() => runPendingMigrations(db, target)).immediate()
}

function runPendingMigrations(db: Database.Database, target: number): void {
  const current = schemaVersion(db)
  const pending = MIGRATIONS.filter((m) => m.version > current && m.version <= target)
  if (pending.length === 0) return
  for (const migration of pending) runMigration(db, migration)
  // PRAGMA takes no bound parameters; migration versions are integer constants.
  db.pragma(`user_version = ${pending[pending.length - 1].version}`)
}

function runMigration(db: Database.Database, migration: Migration): void {
  try {
    migration.up(db)
  } catch (error) {
    throw new Error(`migrate: migration ${migration.name} failed: ${(error as Error).message}`, {
      cause: error
    })
  }
}

/**
 * The writing half of an import: where its good rows go while the file is read, and how they become
 * a dataset's samples in one commit, or leave the store as it was when the import is discarded.
 * Rows for an existing dataset, or from a small file, wait in a TEMP staging table and are copied at
 * the end (stagingSink); a large file for a new dataset goes into a hidden dataset batch by batch
 * (newDatasetSink). import.ts decides which rows are written; this file only writes them.
 */
import { randomUUID } from 'node:crypto'
import { statSync } from 'node:fs'
import type { DatasetSummary, Split } from '../../src-preload/contract'
import type { Store } from '../store'
import { removeAbandonedImports } from '../store/abandoned-imports'
import { StoreNotFoundError } from '../store/errors'
import { normaliseTags } from '../store/repos/samples'
import { NOW_SQL } from '../store/repos/sql'
import type { StagedRow } from './import-reader'

/** What the writing half needs of an import request: the source file and where its rows go. */
export interface WriterRequest {
  file: string
  /** Exactly one: an existing dataset, or a name (the dataset is created, or found case-insensitively). */
  datasetId?: number
  datasetName?: string
  split: Split
  tags: string[]
  cutVersion: boolean
  note: string
}

/**
 * Imports of at least this many rows leave full-text indexing to the search-index job (which
 * costs about twice the import itself); smaller ones are searchable the moment they commit.
 */
export const DEFERRED_INDEXING_ROWS = 10_000

export interface CommittedImport {
  datasetId: number
  imported: number
  versionId: number | null
}

/** Where an import's good rows go while the file is read, and how they become a dataset's samples. */
export interface SampleSink {
  write(rows: StagedRow[]): void
  /** Makes every written row part of the dataset, in one transaction. */
  commit(): CommittedImport
  /** Leaves the store as it was before the import. */
  discard(): void
}

function importedRowParams(request: WriterRequest) {
  return {
    tags: JSON.stringify(normaliseTags(request.tags)),
    split: request.split,
    sourceFile: request.file
  }
}

/**
 * Runs an insert of imported rows without the samples table's CHECK constraints, which re-parse
 * every conversation's JSON and, on a multi-row statement, make it keep an undo journal: together
 * more than half of the insert's time. What they check holds by construction here: the rows are
 * canonical JSON of conversations that normaliseRow built and checked (messages is an array), and
 * the tags and split are the import's own, validated with the request.
 */
function withoutCheckConstraints<T>(db: Store['db'], insert: () => T): T {
  db.pragma('ignore_check_constraints = ON')
  try {
    return insert()
  } finally {
    db.pragma('ignore_check_constraints = OFF')
  }
}

function touchAndCut(store: Store, request: WriterRequest, datasetId: number): number | null {
  store.db.prepare(`UPDATE datasets SET updated_at = ${NOW_SQL} WHERE id = ?`).run(datasetId)
  return request.cutVersion ? store.datasets.cutVersion(datasetId, request.note).id : null
}

/**
 * Into an existing dataset: rows wait in a TEMP staging table (private to this connection, no lock on
 * the store) and are copied into `samples` by one INSERT…SELECT at the end.
 */
function stagingSink(store: Store, request: WriterRequest, target: () => number): SampleSink {
  const db = store.db
  db.exec(`
    CREATE TEMP TABLE IF NOT EXISTS import_staging (
      seq INTEGER PRIMARY KEY,
      conversation TEXT NOT NULL,
      content_hash TEXT NOT NULL,
      source_line INTEGER NOT NULL
    );
    DELETE FROM temp.import_staging;
  `)
  const insert = db.prepare<[string, string, number]>(
    'INSERT INTO temp.import_staging (conversation, content_hash, source_line) VALUES (?, ?, ?)'
  )
  const write = db.transaction((rows: StagedRow[]) => {
    for (const row of rows) insert.run(row.json, row.hash, row.line)
  })
  let staged = 0
  const commit = db.transaction((): CommittedImport => {
    const datasetId = target()
    // Consecutive ids (one INSERT, one writer), so the backlog takes them as one range.
    const firstId = store.searchIndex.nextSampleId()
    const lastId = firstId + staged - 1
    if (staged >= DEFERRED_INDEXING_ROWS) store.searchIndex.defer(firstId, lastId)
    const { changes: imported, lastInsertRowid } = withoutCheckConstraints(db, () =>
      db
        .prepare(
          `INSERT INTO samples (dataset_id, conversation, tags, split, source_file, source_line, content_hash)
           SELECT @datasetId, conversation, @tags, @split, @sourceFile, source_line, content_hash
           FROM temp.import_staging ORDER BY seq`
        )
        .run({ datasetId, ...importedRowParams(request) })
    )
    if (imported !== staged || (imported > 0 && Number(lastInsertRowid) !== lastId)) {
      throw new Error(
        `datasets.import: expected sample ids ${firstId}..${lastId}, got ${imported} ending at ${lastInsertRowid}`
      )
    }
    return { datasetId, imported, versionId: touchAndCut(store, request, datasetId) }
  })
  const drop = () => db.exec('DROP TABLE IF EXISTS temp.import_staging')
  return {
    write(rows) {
      write(rows)
      staged += rows.length
    },
    commit: () => {
      const restore = bulkWriteSettings(db)
      try {
        return commit.immediate()
      } finally {
        restore()
        drop()
      }
    },
    discard: drop
  }
}

/** The dataset of this name, compared as the store does (case-insensitively). */
function namedDataset(store: Store, name: string): DatasetSummary | undefined {
  return store.datasets.list().find((d) => d.name.toLowerCase() === name.toLowerCase())
}

/**
 * The connection's settings while it writes an import's rows; returns what puts them back.
 * Checkpoints wait for the end: run between write transactions they copy the same index pages into
 * the database file again and again (about a third of the writing time). And the page cache grows:
 * the content-hash index takes rows in random order, and once it outgrows the cache (about a
 * quarter of a million rows at the default 2 MiB) every insert reads pages back.
 */
function bulkWriteSettings(db: Store['db']): () => void {
  const checkpointPages = db.pragma('wal_autocheckpoint', { simple: true }) as number
  const cachePages = db.pragma('cache_size', { simple: true }) as number
  db.pragma('wal_autocheckpoint = 0')
  db.pragma(`cache_size = ${IMPORT_CACHE_KIB}`)
  return () => {
    db.pragma(`wal_autocheckpoint = ${checkpointPages}`)
    db.pragma(`cache_size = ${cachePages}`)
  }
}

/**
 * Into a new dataset: the dataset is created hidden (migration 0006) and takes its samples batch by
 * batch, each batch a short transaction of its own, as the reader thread delivers them; the commit
 * only unhides it. Search indexing is left to the search-index job.
 */
function newDatasetSink(store: Store, request: WriterRequest, name: string): SampleSink {
  const db = store.db
  removeAbandonedImports(db)
  // A placeholder name: the real one may be taken by the time the import commits.
  const datasetId = db
    .prepare<[string, number], number>(
      `INSERT INTO datasets (name, import_heartbeat_at, import_pid) VALUES (?, ${NOW_SQL}, ?) RETURNING id`
    )
    .pluck()
    .get(`(importing ${randomUUID()}) ${name}`, process.pid)!
  const { tags, split, sourceFile } = importedRowParams(request)
  const insertRows = multiRowInsert(db, datasetId, [tags, split, sourceFile])
  const heartbeat = db.prepare(`UPDATE datasets SET import_heartbeat_at = ${NOW_SQL} WHERE id = ?`)
  const write = db.transaction((rows: StagedRow[]) => {
    const firstId = store.searchIndex.nextSampleId()
    store.searchIndex.defer(firstId, firstId + rows.length - 1)
    withoutCheckConstraints(db, () => insertRows(rows))
    heartbeat.run(datasetId)
  })
  let pending: StagedRow[] = []
  let pendingChars = 0
  let imported = 0
  const flush = () => {
    if (pending.length > 0) write.immediate(pending)
    imported += pending.length
    pending = []
    pendingChars = 0
  }
  const restoreSettings = bulkWriteSettings(db)
  const commit = db.transaction((): CommittedImport => {
    const taken = namedDataset(store, name)
    let target = datasetId
    if (taken) {
      // Someone created a dataset of this name meanwhile: the import joins it, as it would have.
      db.prepare('UPDATE samples SET dataset_id = ? WHERE dataset_id = ?').run(taken.id, datasetId)
      db.prepare('DELETE FROM datasets WHERE id = ?').run(datasetId)
      target = taken.id
    } else {
      const { changes } = db
        .prepare('UPDATE datasets SET name = ?, import_heartbeat_at = NULL WHERE id = ?')
        .run(name, datasetId)
      // Removed as abandoned: only if this import stalled for minutes between two writes.
      if (changes !== 1)
        throw new Error(`datasets.import: the dataset being created was removed as abandoned`)
    }
    return { datasetId: target, imported, versionId: touchAndCut(store, request, target) }
  })
  return {
    write(rows) {
      for (const row of rows) {
        pending.push(row)
        pendingChars += row.json.length
      }
      // By bytes too, so that rows of long documents do not pile up in memory.
      if (pending.length >= ROWS_PER_TRANSACTION || pendingChars >= CHARS_PER_TRANSACTION) flush()
    },
    commit: () => {
      flush()
      const committed = commit.immediate()
      // The next commit on the store (the search-index job's first batch) checkpoints the WAL.
      restoreSettings()
      return committed
    },
    discard: () => {
      restoreSettings()
      db.prepare('DELETE FROM datasets WHERE id = ?').run(datasetId)
    }
  }
}

/**
 * Rows per write transaction of newDatasetSink: each commit rewrites the index pages it touched, so
 * fewer, larger ones write less; this many hold the store's write lock for about a tenth of a second.
 */
const ROWS_PER_TRANSACTION = 8192
/** …or this much conversation JSON, whichever comes first. */
const CHARS_PER_TRANSACTION = 16 << 20

/** The page cache of an importing connection, in KiB as SQLite takes it (negative): 64 MiB. */
const IMPORT_CACHE_KIB = -65536

/** Rows per INSERT statement of newDatasetSink (7 parameters each, well under SQLite's 32,766). */
const ROWS_PER_INSERT = 256

/**
 * Inserts rows into a dataset with as few statements as possible. Each statement that may write the
 * full-text index (through the samples insert trigger, even when its WHEN skips the row) costs
 * about 20 µs of virtual-table bookkeeping, as much as the row itself, so rows go in by the
 * hundred rather than one statement each.
 */
function multiRowInsert(
  db: Store['db'],
  datasetId: number,
  [tags, split, sourceFile]: [string, string, string]
): (rows: StagedRow[]) => void {
  const statements = new Map<number, ReturnType<typeof db.prepare>>()
  const statementFor = (count: number) => {
    let statement = statements.get(count)
    if (!statement) {
      const values = Array.from({ length: count }, () => '(?, ?, ?, ?, ?, ?, ?)').join(', ')
      statement = db.prepare(
        `INSERT INTO samples (dataset_id, conversation, tags, split, source_file, source_line, content_hash)
         VALUES ${values}`
      )
      statements.set(count, statement)
    }
    return statement
  }
  return (rows) => {
    for (let at = 0; at < rows.length; at += ROWS_PER_INSERT) {
      const chunk = rows.slice(at, at + ROWS_PER_INSERT)
      const params: (string | number)[] = []
      for (const row of chunk) params.push(datasetId, row.json, tags, split, sourceFile, row.line, row.hash)
      statementFor(chunk.length).run(params)
    }
  }
}

/** Files at least this big go into a new dataset batch by batch (newDatasetSink); smaller ones are staged. */
export const DIRECT_IMPORT_BYTES = 4 << 20

export function openSink(store: Store, request: WriterRequest, directImportBytes: number): SampleSink {
  const { datasetId } = request
  if (datasetId !== undefined) {
    return stagingSink(store, request, () => {
      if (!store.datasets.get(datasetId)) {
        throw new StoreNotFoundError(`datasets.import: dataset ${datasetId} does not exist`)
      }
      return datasetId
    })
  }
  const name = request.datasetName!
  if (!namedDataset(store, name) && statSync(request.file).size >= directImportBytes) {
    return newDatasetSink(store, request, name)
  }
  // Looked up again at commit: it may have been renamed, deleted or created meanwhile.
  return stagingSink(
    store,
    request,
    () => namedDataset(store, name)?.id ?? store.datasets.create({ name }).id
  )
}

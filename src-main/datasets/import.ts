/**
 * Importing a file into a dataset, and its preview.
 *
 * An import streams the file in batches: a reader thread normalises each row (normalise.ts) and
 * serialises and hashes it (import-reader.ts), while this thread writes the batches before it to a
 * staging table in the connection's private TEMP database, which takes no lock on the store. Only
 * at the end, in ONE short write transaction, are the staged rows copied into `samples` by plain
 * SQL, the dataset created if it is new and a version cut if asked. An imported sample's revision 1
 * is its row itself: sample_revisions gets it only when the sample is first edited (see the datasets
 * repository), which halves what an import writes. So a killed or cancelled import leaves nothing
 * behind (the temp database dies with its connection), readers are never blocked (WAL), and other
 * writers wait only for the final copy. A large import leaves full-text indexing to a job that runs
 * after it (DEFERRED_INDEXING_ROWS).
 *
 * Bad rows are never dropped silently: every one is counted and the first MAX_LISTED_BAD_ROWS are
 * listed with file, line and reason. With onBadRows 'abort', any bad row stops the import before
 * the final copy (the file is still read to the end, so the user sees every bad row at once). A
 * file without a single good row imports nothing either way: no empty dataset is made of it. Text
 * that was not UTF-8 is imported as read (with U+FFFD) and named in the outcome's warnings.
 */
import { randomUUID } from 'node:crypto'
import { statSync } from 'node:fs'
import { basename } from 'node:path'
import type {
  DatasetSummary,
  ImportFileType,
  ImportMapping,
  ImportPreview,
  ImportPreviewRow,
  Split
} from '../../src-preload/contract'
import type { Store } from '../store'
import { removeAbandonedImports } from '../store/abandoned-imports'
import { StoreNotFoundError } from '../store/errors'
import { normaliseTags } from '../store/repos/datasets'
import { NOW_SQL } from '../store/repos/sql'
import { normalisedBatches, readInThread, type ReadBatch, type StagedRow } from './import-reader'
import { checkMapping, defaultMapping, detectMapping, normaliseRow, RowError } from './normalise'
import { detectFileType, readRecords, type RawRow, type ReadProgress } from './sources'
import { InvalidUtf8Tally } from './utf8'

export interface BadRow {
  file: string
  line: number
  reason: string
}

export const MAX_LISTED_BAD_ROWS = 1000

/**
 * Imports of at least this many rows leave full-text indexing to the search-index job (which
 * costs about twice the import itself); smaller ones are searchable the moment they commit.
 */
export const DEFERRED_INDEXING_ROWS = 10_000

export interface ImportRequest {
  file: string
  fileType: ImportFileType
  mapping: ImportMapping
  /** Exactly one: an existing dataset, or a name (the dataset is created, or found case-insensitively). */
  datasetId?: number
  datasetName?: string
  split: Split
  tags: string[]
  onBadRows: 'skip' | 'abort'
  cutVersion: boolean
  note: string
}

export type ImportOutcome =
  | {
      ok: true
      datasetId: number
      imported: number
      badRows: BadRow[]
      badRowCount: number
      versionId: number | null
      /** What was imported but not as the file holds it (text that was not UTF-8). */
      warnings: string[]
    }
  | { ok: false; message: string; badRows: BadRow[]; badRowCount: number; goodRowCount: number }

export interface ImportHooks {
  onProgress?: (progress: ReadProgress & { rows: number }) => void
  signal?: AbortSignal
  /** Parse in the calling thread instead of a reader thread (tests of the reading itself). */
  readInThisThread?: boolean
  /** Overrides DIRECT_IMPORT_BYTES (tests of both ways in). */
  directImportBytes?: number
}

/** The message of an import aborted by bad rows: the first one, and how many more. */
export function abortMessage(badRows: readonly BadRow[], badRowCount: number): string {
  const first = badRows[0]
  return (
    `datasets.import: line ${first.line} of ${basename(first.file)}: ${first.reason}` +
    (badRowCount > 1 ? ` (and ${badRowCount - 1} more bad lines)` : '') +
    '; nothing was imported'
  )
}

/** The message of an import of a file without a single good row (nothing to make a dataset of). */
function noGoodRowsMessage(file: string, badRows: readonly BadRow[], badRowCount: number): string {
  if (badRowCount === 0) return `datasets.import: ${basename(file)} holds no rows; nothing was imported`
  const first = badRows[0]
  const each = badRowCount === 1 ? 'its one row is bad' : `all ${badRowCount} rows are bad`
  return (
    `datasets.import: ${basename(file)} has no row to import: ${each} ` +
    `(the first, line ${first.line}: ${first.reason}); nothing was imported`
  )
}

/** The warning about the file's invalid UTF-8, if it had any: Parquet's is counted in rows, text's in lines. */
function utf8Warnings(
  tally: InvalidUtf8Tally,
  { file, fileType }: { file: string; fileType: ImportFileType }
): string[] {
  const warning = tally.warning(basename(file), fileType === 'parquet' ? 'row' : 'line')
  return warning ? [warning] : []
}

/** The batches of the file, their errors named as the import's: "datasets.import: a.csv, line 4: …". */
async function* readBatches(request: ImportRequest, hooks: ImportHooks): AsyncGenerator<ReadBatch> {
  try {
    yield* (hooks.readInThisThread ? normalisedBatches : readInThread)(request)
  } catch (error) {
    throw new Error(`datasets.import: ${(error as Error).message}`, { cause: error })
  }
}

interface CommittedImport {
  datasetId: number
  imported: number
  versionId: number | null
}

/** Where an import's good rows go while the file is read, and how they become a dataset's samples. */
interface SampleSink {
  write(rows: StagedRow[]): void
  /** Makes every written row part of the dataset, in one transaction. */
  commit(): CommittedImport
  /** Leaves the store as it was before the import. */
  discard(): void
}

function importedRowParams(request: ImportRequest) {
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

function touchAndCut(store: Store, request: ImportRequest, datasetId: number): number | null {
  store.db.prepare(`UPDATE datasets SET updated_at = ${NOW_SQL} WHERE id = ?`).run(datasetId)
  return request.cutVersion ? store.datasets.cutVersion(datasetId, request.note).id : null
}

/**
 * Into an existing dataset: rows wait in a TEMP staging table (private to this connection, no lock on
 * the store) and are copied into `samples` by one INSERT…SELECT at the end.
 */
function stagingSink(store: Store, request: ImportRequest, target: () => number): SampleSink {
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
function newDatasetSink(store: Store, request: ImportRequest, name: string): SampleSink {
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

function openSink(store: Store, request: ImportRequest, directImportBytes: number): SampleSink {
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

export async function importFile(
  store: Store,
  request: ImportRequest,
  hooks: ImportHooks = {}
): Promise<ImportOutcome> {
  const mappingProblem = checkMapping(request.mapping)
  if (mappingProblem) throw new Error(`datasets.import: ${mappingProblem}`)
  const sink = openSink(store, request, hooks.directImportBytes ?? DIRECT_IMPORT_BYTES)
  const badRows: BadRow[] = []
  let badRowCount = 0
  let goodRowCount = 0
  let written = 0
  const invalidUtf8 = new InvalidUtf8Tally()
  let committed: CommittedImport | null = null
  try {
    for await (const batch of readBatches(request, hooks)) {
      if (hooks.signal?.aborted) throw new Error('datasets.import: cancelled')
      for (const bad of batch.bad) {
        badRowCount++
        if (badRows.length < MAX_LISTED_BAD_ROWS) badRows.push({ file: request.file, ...bad })
      }
      invalidUtf8.add(batch.invalidUtf8)
      goodRowCount += batch.rows.length
      hooks.onProgress?.({ ...batch.progress, rows: written + batch.rows.length + badRowCount })
      // Once a row is bad an aborting import only reads on to report the others.
      if (badRowCount > 0 && request.onBadRows === 'abort') continue
      sink.write(batch.rows)
      written += batch.rows.length
    }
    // A cancel that arrived while the last batch was written must still stop the commit.
    if (hooks.signal?.aborted) throw new Error('datasets.import: cancelled')
    if (goodRowCount === 0) {
      const message = noGoodRowsMessage(request.file, badRows, badRowCount)
      return { ok: false, message, badRows, badRowCount, goodRowCount }
    }
    if (badRowCount > 0 && request.onBadRows === 'abort') {
      return { ok: false, message: abortMessage(badRows, badRowCount), badRows, badRowCount, goodRowCount }
    }
    committed = sink.commit()
    return { ok: true, ...committed, badRows, badRowCount, warnings: utf8Warnings(invalidUtf8, request) }
  } finally {
    if (!committed) sink.discard()
  }
}

// ---------------------------------------------------------------------------------------------
// Preview
// ---------------------------------------------------------------------------------------------

export interface PreviewRequest {
  file: string
  fileType: ImportFileType | 'auto'
  format: ImportMapping['format'] | 'auto'
  mapping?: ImportMapping
  limit: number
}

const PREVIEW_TEXT_LIMIT = 2000
/** Rows read to detect the format: a few more than shown, so one odd first row does not decide. */
const DETECTION_ROWS = 50

function cutLongStrings(value: unknown): unknown {
  if (typeof value === 'string') {
    return value.length > PREVIEW_TEXT_LIMIT ? `${value.slice(0, PREVIEW_TEXT_LIMIT)}…` : value
  }
  if (Array.isArray(value)) return value.map(cutLongStrings)
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cutLongStrings(v)]))
  }
  return value
}

/** The mapping an import uses: the one given, else the format's usual columns, else what detection found. */
export function resolveMapping(
  request: Pick<PreviewRequest, 'format' | 'mapping'>,
  columns: readonly string[],
  detected: ImportMapping | null
): ImportMapping | null {
  if (request.mapping) return request.mapping
  if (request.format !== 'auto') return defaultMapping(request.format, columns)
  return detected
}

/** Why detection saw no columns when not one row read could be parsed: the first row's error, not "(none)". */
function unreadableNote(records: readonly { line: number; error: string | null }[]): string {
  const [first] = records
  const which = records.length === 1 ? 'its one row cannot' : `none of its first ${records.length} rows can`
  return `${which} be read (line ${first.line}: ${first.error}); check that the file is what its name says`
}

export async function previewImport(request: PreviewRequest): Promise<ImportPreview> {
  const fileType = request.fileType === 'auto' ? detectFileType(request.file) : request.fileType
  const records: { line: number; row: RawRow | null; error: string | null }[] = []
  const maxRecords = Math.max(request.limit, DETECTION_ROWS)
  const invalidUtf8 = new InvalidUtf8Tally()
  const options = { maxRecords, onInvalidUtf8: invalidUtf8.add.bind(invalidUtf8) }
  for await (const batch of readRecords(request.file, fileType, options)) {
    for (const record of batch) {
      records.push(
        'row' in record
          ? { line: record.line, row: record.row, error: null }
          : { line: record.line, row: null, error: record.error }
      )
    }
  }
  const columns: string[] = []
  const seen = new Set<string>()
  for (const record of records) {
    for (const key of Object.keys(record.row ?? {})) {
      if (!seen.has(key)) columns.push(key)
      seen.add(key)
    }
  }
  const rows = records.filter((r) => r.row !== null).map((r) => r.row!)
  const detection = detectMapping(columns, rows)
  const mapping = resolveMapping(request, columns, detection.mapping)
  const mappingProblem = mapping ? checkMapping(mapping) : null
  const notes = [
    ...(rows.length === 0 && records.length > 0 ? [unreadableNote(records)] : detection.notes),
    ...(mappingProblem ? [mappingProblem] : []),
    ...utf8Warnings(invalidUtf8, { file: request.file, fileType })
  ]
  const previewRows: ImportPreviewRow[] = records.slice(0, request.limit).map((record) => {
    const raw = cutLongStrings(record.row ?? {}) as Record<string, unknown>
    if (record.row === null) return { line: record.line, raw, conversation: null, error: record.error }
    if (!mapping || mappingProblem) {
      return {
        line: record.line,
        raw,
        conversation: null,
        error: mappingProblem ?? 'no mapping: choose the format and columns'
      }
    }
    try {
      return { line: record.line, raw, conversation: normaliseRow(record.row, mapping), error: null }
    } catch (error) {
      if (!(error instanceof RowError)) throw error
      return { line: record.line, raw, conversation: null, error: error.message }
    }
  })
  return {
    path: request.file,
    fileType,
    columns,
    detected: detection.mapping,
    mapping,
    notes,
    rows: previewRows
  }
}

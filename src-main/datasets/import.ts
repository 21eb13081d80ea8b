/**
 * Importing a file into a dataset, and its preview.
 *
 * An import streams the file in batches: each row is normalised (normalise.ts), serialised and
 * hashed, and written to a staging table in the connection's private TEMP database, which takes
 * no lock on the store. Only at the end, in ONE short write transaction, are the staged rows
 * copied into `samples` by plain SQL, the dataset created if it is new and a version cut if asked.
 * An imported sample's revision 1 is its row itself: sample_revisions gets it only when the sample
 * is first edited (see the datasets repository), which halves what an import writes. So a killed or cancelled import leaves nothing behind (the temp
 * database dies with its connection), readers are never blocked (WAL), and other writers wait
 * only for the final copy.
 *
 * Bad rows are never dropped silently: every one is counted and the first MAX_LISTED_BAD_ROWS are
 * listed with file, line and reason. With onBadRows 'abort', any bad row stops the import before
 * the final copy (the file is still read to the end, so the user sees every bad row at once).
 */
import { basename } from 'node:path'
import type {
  Conversation,
  ImportFileType,
  ImportMapping,
  ImportPreview,
  ImportPreviewRow,
  Split
} from '../../src-preload/contract'
import type { Store } from '../store'
import { StoreNotFoundError } from '../store/errors'
import { canonicalJson, sha256Hex } from '../store/hash'
import { normaliseTags } from '../store/repos/datasets'
import { checkMapping, defaultMapping, detectMapping, normaliseRow, RowError } from './normalise'
import { detectFileType, readRecords, type RawRow, type ReadProgress } from './sources'

export interface BadRow {
  file: string
  line: number
  reason: string
}

export const MAX_LISTED_BAD_ROWS = 1000

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
    }
  | { ok: false; message: string; badRows: BadRow[]; badRowCount: number }

export interface ImportHooks {
  onProgress?: (progress: ReadProgress & { rows: number }) => void
  signal?: AbortSignal
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

/** A conversation as the samples table stores it: canonical JSON and its sha256. */
export function serialiseConversation(conversation: Conversation): { json: string; hash: string } {
  const json = canonicalJson(conversation)
  return { json, hash: sha256Hex(json) }
}

function prepareStaging(store: Store) {
  store.db.exec(`
    CREATE TEMP TABLE IF NOT EXISTS import_staging (
      seq INTEGER PRIMARY KEY,
      conversation TEXT NOT NULL,
      content_hash TEXT NOT NULL,
      source_line INTEGER NOT NULL
    );
    DELETE FROM temp.import_staging;
  `)
  const insert = store.db.prepare<[string, string, number]>(
    'INSERT INTO temp.import_staging (conversation, content_hash, source_line) VALUES (?, ?, ?)'
  )
  const insertBatch = store.db.transaction((rows: { json: string; hash: string; line: number }[]) => {
    for (const row of rows) insert.run(row.json, row.hash, row.line)
  })
  return { insertBatch, drop: () => store.db.exec('DROP TABLE IF EXISTS temp.import_staging') }
}

/** The dataset named by id, or by name (created when new). Runs inside the final transaction. */
function targetDatasetId(store: Store, request: ImportRequest): number {
  if (request.datasetId !== undefined) {
    if (!store.datasets.get(request.datasetId)) {
      throw new StoreNotFoundError(`datasets.import: dataset ${request.datasetId} does not exist`)
    }
    return request.datasetId
  }
  const name = request.datasetName!
  const existing = store.datasets.list().find((d) => d.name.toLowerCase() === name.toLowerCase())
  return existing ? existing.id : store.datasets.create({ name, description: '' }).id
}

/** Copies the staged rows into the dataset, all in one transaction; returns how many. */
function commitStaged(
  store: Store,
  request: ImportRequest
): { datasetId: number; imported: number; versionId: number | null } {
  const db = store.db
  const run = db.transaction(() => {
    const datasetId = targetDatasetId(store, request)
    const params = {
      datasetId,
      tags: JSON.stringify(normaliseTags(request.tags)),
      split: request.split,
      sourceFile: request.file
    }
    const { changes: imported } = db
      .prepare(
        `INSERT INTO samples (dataset_id, conversation, tags, split, source_file, source_line, content_hash)
         SELECT @datasetId, conversation, @tags, @split, @sourceFile, source_line, content_hash
         FROM temp.import_staging ORDER BY seq`
      )
      .run(params)
    db.prepare(`UPDATE datasets SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?`).run(
      datasetId
    )
    const versionId = request.cutVersion ? store.datasets.cutVersion(datasetId, request.note).id : null
    return { datasetId, imported, versionId }
  })
  return run.immediate()
}

export async function importFile(
  store: Store,
  request: ImportRequest,
  hooks: ImportHooks = {}
): Promise<ImportOutcome> {
  const mappingProblem = checkMapping(request.mapping)
  if (mappingProblem) throw new Error(`datasets.import: ${mappingProblem}`)
  const staging = prepareStaging(store)
  const badRows: BadRow[] = []
  let badRowCount = 0
  let staged = 0
  try {
    const records = readRecords(request.file, request.fileType, {
      onProgress: (progress) => hooks.onProgress?.({ ...progress, rows: staged + badRowCount })
    })
    for await (const batch of records) {
      if (hooks.signal?.aborted) throw new Error('datasets.import: cancelled')
      const good: { json: string; hash: string; line: number }[] = []
      for (const record of batch) {
        let reason: string
        if ('row' in record) {
          try {
            const { json, hash } = serialiseConversation(normaliseRow(record.row, request.mapping))
            good.push({ json, hash, line: record.line })
            continue
          } catch (error) {
            if (!(error instanceof RowError)) throw error
            reason = error.message
          }
        } else {
          reason = record.error
        }
        badRowCount++
        if (badRows.length < MAX_LISTED_BAD_ROWS)
          badRows.push({ file: request.file, line: record.line, reason })
      }
      // Once a row is bad an aborting import only reads on to report the others.
      if (badRowCount > 0 && request.onBadRows === 'abort') continue
      staging.insertBatch(good)
      staged += good.length
    }
    if (badRowCount > 0 && request.onBadRows === 'abort') {
      return { ok: false, message: abortMessage(badRows, badRowCount), badRows, badRowCount }
    }
    const committed = commitStaged(store, request)
    return { ok: true, ...committed, badRows, badRowCount }
  } finally {
    staging.drop()
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

export async function previewImport(request: PreviewRequest): Promise<ImportPreview> {
  const fileType = request.fileType === 'auto' ? detectFileType(request.file) : request.fileType
  const records: { line: number; row: RawRow | null; error: string | null }[] = []
  const maxRecords = Math.max(request.limit, DETECTION_ROWS)
  for await (const batch of readRecords(request.file, fileType, { maxRecords })) {
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
  const notes = mappingProblem ? [...detection.notes, mappingProblem] : detection.notes
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

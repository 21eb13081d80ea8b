/**
 * Importing a file into a dataset: the reading half (import-reader.ts) and the writing half
 * (import-writer.ts) joined, and what the user is told about bad rows. The preview, which only
 * reads, is in import-preview.ts.
 *
 * An import streams the file in batches: a reader thread normalises each row (normalise.ts) and
 * serialises and hashes it (import-reader.ts), while this thread writes the batches before it
 * (import-writer.ts) to a staging table in the connection's private TEMP database, which takes no
 * lock on the store. Only
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
 * that was not UTF-8 is imported as read (with U+FFFD) and named in the outcome's warnings, and so
 * are messages holding image/video/audio parts (kept as metadata, unseen by a text-only model).
 */
import { basename } from 'node:path'
import type { ImportFileType } from '../../src-preload/contract'
import type { Store } from '../store'
import { normalisedBatches, readInThread, type ReaderRequest, type ReadBatch } from './import-reader'
import { DIRECT_IMPORT_BYTES, openSink, type CommittedImport, type WriterRequest } from './import-writer'
import { mediaWarning } from './content-parts'
import { checkMapping } from './import-mapping'
import type { ReadProgress } from './sources'
import { InvalidUtf8Tally } from './utf8'

export interface BadRow {
  file: string
  line: number
  reason: string
}

export const MAX_LISTED_BAD_ROWS = 1000

/** What to read (the reading half's request) and where its rows go (the writing half's). */
export interface ImportRequest extends ReaderRequest, WriterRequest {
  onBadRows: 'skip' | 'abort'
}

export type ImportOutcome =
  | {
      ok: true
      datasetId: number
      imported: number
      badRows: BadRow[]
      badRowCount: number
      versionId: number | null
      /**
       * What was imported but not as the file holds it (text that was not UTF-8), or not as the
       * model will see it (media parts).
       */
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
export function utf8Warnings(
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
  let mediaMessages = 0
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
      mediaMessages += batch.mediaMessages
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
    const media = mediaWarning(basename(request.file), mediaMessages)
    const warnings = [...utf8Warnings(invalidUtf8, request), ...(media ? [media] : [])]
    return { ok: true, ...committed, badRows, badRowCount, warnings }
  } finally {
    if (!committed) sink.discard()
  }
}

/**
 * The preview of an import: a file's first rows as they would be imported, with the format and
 * mapping detection found, what it chose per field and why (fieldChoices), and the notes that
 * explain a row that would not import. Nothing is written.
 */
import type {
  ImportFileType,
  ImportMapping,
  ImportPreview,
  ImportPreviewRow,
  TextSampleUnit
} from '../../src-preload/contract'
import { basename } from 'node:path'
import { mediaMessageCount, mediaWarning } from './content-parts'
import { utf8Warnings } from './import'
import { checkMapping, defaultMapping, detectMapping } from './import-mapping'
import { normaliseRow } from './normalise'
import { RowError } from './raw-values'
import { detectFileType, readRecords, type RawRow } from './sources'
import { InvalidUtf8Tally } from './utf8'

export interface PreviewRequest {
  file: string
  fileType: ImportFileType | 'auto'
  format: ImportMapping['format'] | 'auto'
  mapping?: ImportMapping
  limit: number
  /** How a .txt file is cut into samples (the reader's default when absent). */
  textUnit?: TextSampleUnit
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
  const options = { maxRecords, onInvalidUtf8: invalidUtf8.add.bind(invalidUtf8), textUnit: request.textUnit }
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
  // The previewed rows' media parts, said as the import will say them (over the whole file).
  const media = mediaWarning(
    basename(request.file),
    previewRows.reduce((n, row) => n + (row.conversation ? mediaMessageCount(row.conversation) : 0), 0)
  )
  if (media) notes.push(media)
  return {
    path: request.file,
    fileType,
    columns,
    detected: detection.mapping,
    mapping,
    notes,
    fieldChoices: detection.fieldChoices,
    rows: previewRows
  }
}

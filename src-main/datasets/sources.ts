/**
 * Reading the rows of an import file: JSONL, a JSON array, CSV (or TSV), Parquet and plain text
 * (text-samples.ts cuts it into `{"text"}` rows), each as a stream of batches of records, so memory stays flat in the file's size. A record is a row (a
 * plain object of column → value) or the reason the row could not be read, always with the line
 * it starts on (Parquet: the 1-based row number). A file that is not what it should be (empty,
 * UTF-16, compressed, binary, one JSON object) and structural errors that make the rest of the file
 * unreadable (not an array, an unclosed quote at the end) throw SourceFileError with the file and
 * line. Nothing is changed silently: a number JSON cannot hold makes its row bad, and text that is
 * not UTF-8 (read as U+FFFD) is reported through onInvalidUtf8.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs'
import { basename } from 'node:path'
import type { ImportFileType, TextSampleUnit } from '../../src-preload/contract'
import { CsvParser, delimiterFor } from './csv'
import { JsonArraySplitter, JsonArrayStructureError } from './json-array'
import { ParquetFileError, readParquetRows } from './parquet'
import { SNIFF_BYTES, textFileProblem } from './sniff'
import { MAX_DOCUMENT_BYTES, TextSampleCutter } from './text-samples'
import { Utf8Checker, type InvalidUtf8 } from './utf8'

export type RawRow = Record<string, unknown>

export type SourceRecord = { line: number; row: RawRow } | { line: number; error: string }

export interface ReadProgress {
  /** Bytes read so far (Parquet: rows read) out of total. */
  done: number
  total: number
}

export interface ReadOptions {
  onProgress?: (progress: ReadProgress) => void
  /** Stop after this many records (previews). */
  maxRecords?: number
  /** Text that was not UTF-8, found in the stretch just read (the rows hold U+FFFD in its place). */
  onInvalidUtf8?: (found: InvalidUtf8) => void
  /** How a plain text file is cut into samples (default: paragraph). */
  textUnit?: TextSampleUnit
}

const CHUNK_BYTES = 1 << 20
const BATCH_RECORDS = 1000

/** An import file that cannot be read as what it claims to be. */
export class SourceFileError extends Error {
  constructor(file: string, line: number | null, reason: string, options?: ErrorOptions) {
    super(`${basename(file)}${line === null ? '' : `, line ${line}`}: ${reason}`, options)
    this.name = 'SourceFileError'
  }
}

/** The container type from the file name, or from its first bytes when the name does not say. */
export function detectFileType(file: string): ImportFileType {
  const lower = file.toLowerCase()
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl'
  if (lower.endsWith('.csv') || lower.endsWith('.tsv')) return 'csv'
  if (lower.endsWith('.parquet')) return 'parquet'
  if (lower.endsWith('.txt')) return 'txt'
  const head = readHead(file, 4096)
  if (head.subarray(0, 4).toString('latin1') === 'PAR1') return 'parquet'
  const text = head.toString('utf8').replace(/^\uFEFF/, '')
  const first = text.trimStart()[0]
  if (first === '[') return 'json'
  // A .json file holding one object per line is JSONL by content.
  if (first === '{') return 'jsonl'
  return 'csv'
}

function readHead(file: string, bytes: number): Buffer {
  const fd = openSync(file, 'r')
  try {
    const buffer = Buffer.alloc(bytes)
    const read = readSync(fd, buffer, 0, bytes, 0)
    return buffer.subarray(0, read)
  } finally {
    closeSync(fd)
  }
}

/**
 * The file's text in chunks of about 1 MiB (split UTF-8 sequences are decoded across chunks),
 * after its first bytes said it is text (see sniff.ts).
 */
function* textChunks(
  file: string,
  options: ReadOptions
): Generator<{ text: string; bytesRead: number; last: boolean }> {
  const fd = openSync(file, 'r')
  const buffer = Buffer.alloc(CHUNK_BYTES)
  const decoder = new TextDecoder('utf-8')
  const utf8 = new Utf8Checker()
  let bytesRead = 0
  try {
    for (;;) {
      const read = readSync(fd, buffer, 0, CHUNK_BYTES, null)
      const bytes = buffer.subarray(0, read)
      if (bytesRead === 0) {
        const problem = textFileProblem(bytes.subarray(0, SNIFF_BYTES), fstatSync(fd).size)
        if (problem) throw new SourceFileError(file, null, problem)
      }
      bytesRead += read
      const invalid = utf8.push(bytes, read === 0)
      if (invalid.count > 0) options.onInvalidUtf8?.(invalid)
      const text = decoder.decode(bytes, { stream: read > 0 })
      if (text !== '' || read === 0) yield { text, bytesRead, last: read === 0 }
      if (read === 0) return
    }
  } finally {
    closeSync(fd)
  }
}

function isPlainObject(value: unknown): value is RawRow {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describeJsonValue(value: unknown): string {
  if (Array.isArray(value)) return 'an array'
  if (value === null) return 'null'
  return `a ${typeof value}`
}

/** A number in a value that is not finite (none can be stored as JSON), and the path to it. */
function nonFiniteNumber(value: unknown): { path: string; value: number } | null {
  if (typeof value === 'number') return Number.isFinite(value) ? null : { path: '', value }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nonFiniteNumber(value[i])
      if (found) return { path: `[${i}]${found.path}`, value: found.value }
    }
  } else if (isPlainObject(value)) {
    for (const [key, inner] of Object.entries(value)) {
      const found = nonFiniteNumber(inner)
      if (found) return { path: `.${key}${found.path}`, value: found.value }
    }
  }
  return null
}

/** A row's first number that is not finite, and where: `"meta".scores[2]`. */
function nonFiniteInRow(row: RawRow): { where: string; value: number } | null {
  for (const [column, value] of Object.entries(row)) {
    const found = nonFiniteNumber(value)
    if (found) return { where: `"${column}"${found.path}`, value: found.value }
  }
  return null
}

/**
 * Text that may hold a number too large for a double (JSON.parse makes it Infinity): an exponent of
 * three digits or 309 digits in a row. Only rows that match are searched, so others cost one test.
 */
const MAY_OVERFLOW = /\d[eE]\+?\d{3}|\d{309}/
const JSON_TOKEN = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g

/** The first number literal of a JSON text that overflows, as written. */
function overflowingLiteral(text: string): string | undefined {
  for (const [token] of text.matchAll(JSON_TOKEN)) {
    if (!token.startsWith('"') && !Number.isFinite(Number(token))) return token
  }
  return undefined
}

/** A parsed JSON row, or why the text is not one. */
function jsonRecord(line: number, text: string): SourceRecord {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return { line, error: `not valid JSON (${(error as Error).message})` }
  }
  if (!isPlainObject(value))
    return { line, error: `a row must be a JSON object, got ${describeJsonValue(value)}` }
  const overflow = MAY_OVERFLOW.test(text) ? nonFiniteInRow(value) : null
  if (overflow) {
    const literal = overflowingLiteral(text) ?? String(overflow.value)
    return {
      line,
      error: `the number ${literal} in ${overflow.where} is too large to store (it would become ${overflow.value}); write it as a string`
    }
  }
  return { line, row: value }
}

/** A Parquet row, or why it cannot be stored. */
function parquetRecord(line: number, row: RawRow): SourceRecord {
  const found = nonFiniteInRow(row)
  if (found)
    return {
      line,
      error: `${found.where} is ${found.value}, which a sample cannot store (JSON has no such number)`
    }
  return { line, row }
}

/** Past this size a file that fails as JSON Lines is not parsed whole to say what it is instead. */
const WHOLE_DOCUMENT_BYTES = 16 << 20

/**
 * What a file whose first line is not a JSON row is instead, when it is one JSON document (a
 * pretty-printed object such as a dataset_info.json, or an array): null when it is not.
 */
function singleDocumentProblem(file: string): string | null {
  if (statSync(file).size > WHOLE_DOCUMENT_BYTES) return null
  let value: unknown
  try {
    value = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''))
  } catch {
    return null
  }
  if (Array.isArray(value)) return 'the file is one JSON array, not JSON Lines; import it as json'
  if (!isPlainObject(value)) return null
  const keys = Object.keys(value)
  const listed =
    keys
      .slice(0, 10)
      .map((key) => `"${key}"`)
      .join(', ') + (keys.length > 10 ? ', …' : '')
  const rowsKey = keys.find((key) => {
    const inner = value[key]
    return Array.isArray(inner) && inner.length > 0 && inner.every(isPlainObject)
  })
  return (
    `the file is a single JSON object, not a list of rows (keys: ${listed || 'none'})` +
    (rowsKey
      ? `; if its rows are the list in "${rowsKey}", save that list as a JSON array or JSON Lines file`
      : '')
  )
}

function* jsonlRecords(file: string, options: ReadOptions): Generator<SourceRecord[]> {
  const total = statSync(file).size
  let pending = ''
  let line = 0
  let count = 0
  let batch: SourceRecord[] = []
  const take = (text: string): boolean => {
    line++
    const trimmed = text.endsWith('\r') ? text.slice(0, -1) : text
    if (trimmed.trim() === '') return false
    const record = jsonRecord(line, trimmed)
    // A first line that is no row may be the start of one JSON document spanning the file.
    const problem = count === 0 && 'error' in record ? singleDocumentProblem(file) : null
    if (problem) throw new SourceFileError(file, null, problem)
    batch.push(record)
    count++
    return options.maxRecords !== undefined && count >= options.maxRecords
  }
  for (const { text, bytesRead, last } of textChunks(file, options)) {
    pending += text
    let start = 0
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n', start)) {
      const done = take(pending.slice(start, end))
      start = end + 1
      if (done) return yield batch
    }
    pending = pending.slice(start)
    if (last && pending !== '' && take(pending)) return yield batch
    if (batch.length >= BATCH_RECORDS || last) {
      options.onProgress?.({ done: bytesRead, total })
      if (batch.length > 0) yield batch
      batch = []
    }
  }
  if (count === 0) throw new SourceFileError(file, null, 'the file is empty (only blank lines)')
}

function* jsonArrayRecords(file: string, options: ReadOptions): Generator<SourceRecord[]> {
  const total = statSync(file).size
  const splitter = new JsonArraySplitter()
  let count = 0
  try {
    for (const { text, bytesRead, last } of textChunks(file, options)) {
      const items = splitter.push(text)
      if (last) splitter.end()
      const batch: SourceRecord[] = []
      for (const item of items) {
        batch.push(jsonRecord(item.line, item.text))
        if (options.maxRecords !== undefined && ++count >= options.maxRecords) return yield batch
      }
      options.onProgress?.({ done: bytesRead, total })
      if (batch.length > 0) yield batch
    }
  } catch (error) {
    if (!(error instanceof JsonArrayStructureError)) throw error
    // A file that is no array may be one JSON object, which says more than "expected [".
    const problem = singleDocumentProblem(file)
    throw problem
      ? new SourceFileError(file, null, problem)
      : new SourceFileError(file, error.line, error.message)
  }
}

function* csvRecords(file: string, options: ReadOptions): Generator<SourceRecord[]> {
  const total = statSync(file).size
  const parser = new CsvParser(delimiterFor(file))
  let header: string[] | null = null
  let count = 0
  for (const { text, bytesRead, last } of textChunks(file, options)) {
    const records = parser.push(text)
    if (last) {
      const ending = parser.end()
      const unclosed = ending.find((record) => 'error' in record)
      // Everything after the quote was read into one field: no row after it can be trusted.
      if (unclosed && 'error' in unclosed)
        throw new SourceFileError(file, unclosed.line, `unbalanced quote: ${unclosed.error}`)
      records.push(...ending)
    }
    const batch: SourceRecord[] = []
    for (const record of records) {
      if ('error' in record) {
        if (header === null)
          throw new SourceFileError(file, record.line, `the header line cannot be read: ${record.error}`)
        batch.push(record)
      } else if (header === null) {
        header = checkHeader(file, record.line, record.fields)
        continue
      } else if (record.fields.length === 1 && record.fields[0] === '') {
        continue
      } else if (record.fields.length !== header.length) {
        batch.push({
          line: record.line,
          error: `has ${record.fields.length} fields, the header has ${header.length}`
        })
      } else {
        const row: RawRow = {}
        header.forEach((name, i) => (row[name] = record.fields[i]))
        batch.push({ line: record.line, row })
      }
      count++
      if (options.maxRecords !== undefined && count >= options.maxRecords) return yield batch
    }
    options.onProgress?.({ done: bytesRead, total })
    if (batch.length > 0) yield batch
  }
  if (header === null) throw new SourceFileError(file, null, 'the file is empty; expected a header line')
  if (count === 0) {
    const columns = header.map((name) => `"${name}"`).join(', ')
    throw new SourceFileError(file, null, `the file has a header (${columns}) but no rows`)
  }
}

function checkHeader(file: string, line: number, fields: string[]): string[] {
  const names = fields.map((f) => f.trim())
  const seen = new Set<string>()
  for (const name of names) {
    if (name === '') throw new SourceFileError(file, line, 'the header has an empty column name')
    if (seen.has(name)) throw new SourceFileError(file, line, `the header names column "${name}" twice`)
    seen.add(name)
  }
  return names
}

async function* parquetRecords(file: string, options: ReadOptions): AsyncGenerator<SourceRecord[]> {
  try {
    for await (const slice of readParquetRows(file, options.maxRecords)) {
      const rows = slice.invalidUtf8Rows
      if (rows.length > 0) options.onInvalidUtf8?.({ count: rows.length, lines: rows })
      options.onProgress?.({ done: slice.firstRow + slice.rows.length, total: slice.totalRows })
      yield slice.rows.map((row, i) => parquetRecord(slice.firstRow + i + 1, row))
    }
  } catch (error) {
    if (error instanceof ParquetFileError) throw new SourceFileError(file, null, error.message)
    throw error
  }
}

/** A plain text file's samples as `{"text"}` rows, each on the line it starts on. */
function* textRecords(file: string, options: ReadOptions): Generator<SourceRecord[]> {
  const unit = options.textUnit ?? 'paragraph'
  const total = statSync(file).size
  if (unit === 'document' && total > MAX_DOCUMENT_BYTES) {
    const mib = Math.ceil(total / (1 << 20))
    throw new SourceFileError(
      file,
      null,
      `the file is ${mib} MiB, more than the ${MAX_DOCUMENT_BYTES >> 20} MiB one sample may hold; import it by paragraph instead`
    )
  }
  const cutter = new TextSampleCutter(unit)
  let count = 0
  for (const { text, bytesRead, last } of textChunks(file, options)) {
    const samples = [...cutter.push(text), ...(last ? cutter.end() : [])]
    const batch: SourceRecord[] = []
    for (const sample of samples) {
      batch.push({ line: sample.line, row: { text: sample.text } })
      count++
      if (options.maxRecords !== undefined && count >= options.maxRecords) return yield batch
    }
    options.onProgress?.({ done: bytesRead, total })
    if (batch.length > 0) yield batch
  }
  if (count === 0) throw new SourceFileError(file, null, 'the file holds no text (only blank lines)')
}

/** The records of an import file, in batches. */
export async function* readRecords(
  file: string,
  fileType: ImportFileType,
  options: ReadOptions = {}
): AsyncGenerator<SourceRecord[]> {
  switch (fileType) {
    case 'jsonl':
      return yield* jsonlRecords(file, options)
    case 'json':
      return yield* jsonArrayRecords(file, options)
    case 'csv':
      return yield* csvRecords(file, options)
    case 'parquet':
      return yield* parquetRecords(file, options)
    case 'txt':
      return yield* textRecords(file, options)
  }
}

/**
 * Reading the rows of an import file: JSONL, a JSON array, CSV (or TSV) and Parquet, each as a
 * stream of batches of records, so memory stays flat in the file's size. A record is a row (a
 * plain object of column → value) or the reason the row could not be read, always with the line
 * it starts on (Parquet: the 1-based row number). Structural errors that make the rest of the file
 * unreadable (not an array, an unclosed quote at the end) throw with the file and line.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { basename } from 'node:path'
import type { ImportFileType } from '../../src-preload/contract'
import { CsvParser, delimiterFor } from './csv'
import { JsonArraySplitter, JsonArrayStructureError } from './json-array'

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
}

const CHUNK_BYTES = 1 << 20
const BATCH_RECORDS = 1000

/** An import file that cannot be read as what it claims to be. */
export class SourceFileError extends Error {
  constructor(file: string, line: number | null, reason: string) {
    super(`${basename(file)}${line === null ? '' : `, line ${line}`}: ${reason}`)
    this.name = 'SourceFileError'
  }
}

/** The container type from the file name, or from its first bytes when the name does not say. */
export function detectFileType(file: string): ImportFileType {
  const lower = file.toLowerCase()
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl'
  if (lower.endsWith('.csv') || lower.endsWith('.tsv')) return 'csv'
  if (lower.endsWith('.parquet')) return 'parquet'
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

/** The file's text in chunks of about 1 MiB (split UTF-8 sequences are decoded across chunks). */
function* textChunks(file: string): Generator<{ text: string; bytesRead: number; last: boolean }> {
  const fd = openSync(file, 'r')
  const buffer = Buffer.alloc(CHUNK_BYTES)
  const decoder = new TextDecoder('utf-8')
  let bytesRead = 0
  try {
    for (;;) {
      const read = readSync(fd, buffer, 0, CHUNK_BYTES, null)
      bytesRead += read
      const text = decoder.decode(buffer.subarray(0, read), { stream: read > 0 })
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
  return { line, row: value }
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
    batch.push(jsonRecord(line, trimmed))
    count++
    return options.maxRecords !== undefined && count >= options.maxRecords
  }
  for (const { text, bytesRead, last } of textChunks(file)) {
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
}

function* jsonArrayRecords(file: string, options: ReadOptions): Generator<SourceRecord[]> {
  const total = statSync(file).size
  const splitter = new JsonArraySplitter()
  let count = 0
  try {
    for (const { text, bytesRead, last } of textChunks(file)) {
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
    if (error instanceof JsonArrayStructureError) throw new SourceFileError(file, error.line, error.message)
    throw error
  }
}

function* csvRecords(file: string, options: ReadOptions): Generator<SourceRecord[]> {
  const total = statSync(file).size
  const parser = new CsvParser(delimiterFor(file))
  let header: string[] | null = null
  let count = 0
  for (const { text, bytesRead, last } of textChunks(file)) {
    const records = last ? [...parser.push(text), ...parser.end()] : parser.push(text)
    const batch: SourceRecord[] = []
    for (const record of records) {
      if ('error' in record) {
        if (header === null) throw new SourceFileError(file, record.line, `the header ${record.error}`)
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
      if (options.maxRecords !== undefined && ++count >= options.maxRecords) return yield batch
    }
    options.onProgress?.({ done: bytesRead, total })
    if (batch.length > 0) yield batch
  }
  if (header === null) throw new SourceFileError(file, null, 'the file is empty; expected a header line')
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

/** Parquet values as JSON-like values: bigints as numbers (or strings past 2^53), dates as ISO text. */
function plainValue(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString()
  }
  if (value instanceof Date) return value.toISOString()
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8')
  if (Array.isArray(value)) return value.map(plainValue)
  if (isPlainObject(value)) {
    const out: RawRow = {}
    for (const [key, inner] of Object.entries(value)) out[key] = plainValue(inner)
    return out
  }
  return value
}

async function* parquetRecords(file: string, options: ReadOptions): AsyncGenerator<SourceRecord[]> {
  // Loaded on demand: only Parquet imports need it.
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await import('hyparquet')
  let buffer
  let metadata
  try {
    buffer = await asyncBufferFromFile(file)
    metadata = await parquetMetadataAsync(buffer)
  } catch (error) {
    throw new SourceFileError(file, null, `not a readable Parquet file (${(error as Error).message})`)
  }
  const total = Number(metadata.num_rows)
  let rowStart = 0
  // One row group at a time (or a slice of one), so memory follows the row group, not the file.
  for (const group of metadata.row_groups) {
    const groupRows = Number(group.num_rows)
    for (let start = rowStart; start < rowStart + groupRows; start += BATCH_RECORDS * 10) {
      const end = Math.min(rowStart + groupRows, start + BATCH_RECORDS * 10, options.maxRecords ?? Infinity)
      if (end <= start) return
      const rows = await parquetReadObjects({ file: buffer, metadata, rowStart: start, rowEnd: end })
      const batch: SourceRecord[] = rows.map((row, i) => ({
        line: start + i + 1,
        row: plainValue(row) as RawRow
      }))
      options.onProgress?.({ done: end, total })
      yield batch
      if (options.maxRecords !== undefined && end >= options.maxRecords) return
    }
    rowStart += groupRows
  }
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
  }
}

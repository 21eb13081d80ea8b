/**
 * Reading the rows of a Parquet file (with hyparquet, and hyparquet-compressors for the codecs
 * beyond Snappy), checked against what the file can hold.
 *
 * A Parquet file declares its sizes (rows, values, page sizes, where each column chunk lies) in its
 * footer and its page headers, and a reader loops and allocates by them: a damaged or hostile file
 * can claim 10^12 rows in 246 bytes, a page of gigabytes, or repeat one dictionary value a million
 * times with a few bytes of run-length encoding. So every declared size is checked against the
 * file's real size before anything is decoded (the footer when the file is opened, a row group's
 * page headers before its first rows are read), and the rows decoded may not outgrow the file more
 * than MAX_DECODED_EXPANSION-fold. Errors name the row group and column; the caller adds the file.
 */
import { isUtf8 } from 'node:buffer'
import { closeSync, openSync, readSync } from 'node:fs'
import type {
  AsyncBuffer,
  ColumnMetaData,
  CompressionCodec,
  Compressors,
  FileMetaData,
  PageHeader
} from 'hyparquet'

export type ParquetRow = Record<string, unknown>

/** The file cannot be read as Parquet, or declares more than it holds. */
export class ParquetFileError extends Error {
  override name = 'ParquetFileError'
}

/** Rows read by one hyparquet call (per column): memory follows this, not the row group. */
const SLICE_ROWS = 10_000

/**
 * Every row of a dataset worth importing holds text of its own, so even dictionary-encoded and
 * compressed it takes more than a byte: a file declaring more rows than it has bytes describes
 * data it does not hold.
 */
const MAX_ROWS_PER_BYTE = 1

/**
 * Values (list elements included) a file may declare per byte. Run-length encoding makes a
 * constant column nearly free (an attention mask of ones), but beside it some column holds
 * information; 64 leaves room for many such columns and bounds what decoding allocates.
 */
const MAX_VALUES_PER_BYTE = 64

/** A page's size once decompressed: writers cut pages at about 1 MiB, a single huge text aside. */
const MAX_PAGE_BYTES = 256 << 20

/** Values in one page: writers that cut pages by size (1 MiB, at least a bit a value) stay below 2^23. */
const MAX_PAGE_VALUES = 1 << 24

/**
 * How much the decoded rows may outgrow the file. Compression and dictionaries shrink real text
 * tenfold, a repeated system prompt more; a thousandfold is data built to exhaust memory.
 */
export const MAX_DECODED_EXPANSION = 1000

/**
 * The codecs read here, and the most each can expand a page: a 3-byte Snappy copy writes 64 bytes;
 * deflate's longest match (258 bytes) takes 2 bits; an LZ4 length byte adds 255; a Zstandard RLE
 * block writes 128 KiB from 4 bytes. Brotli has no such bound (a copy of 16 MiB costs a few bits:
 * 8 MiB of zeros compress to 16 bytes), so only MAX_PAGE_BYTES holds its pages.
 */
const CODEC_EXPANSION: Partial<Record<CompressionCodec, number>> = {
  UNCOMPRESSED: 1,
  SNAPPY: 22,
  GZIP: 1032,
  LZ4: 255,
  LZ4_RAW: 255,
  ZSTD: 32_768,
  BROTLI: Infinity
}

/** Bytes read to parse a page header (statistics may make one longer: then more is read). */
const HEADER_WINDOW = 1 << 13

/** One slice of rows, as plain JSON-like values. */
export interface ParquetSlice {
  /** 0-based index of the first row in the file. */
  firstRow: number
  rows: ParquetRow[]
  totalRows: number
  /** 1-based rows with text that was not UTF-8 (decoded with U+FFFD in its place). */
  invalidUtf8Rows: number[]
}

type Hyparquet = typeof import('hyparquet')
type ParquetHeaderReader = (typeof import('hyparquet/src/column.js'))['parquetHeader']
type Decompress = NonNullable<Compressors[CompressionCodec]>

/** A decompressor whose errors say which codec failed (the decoders' own messages do not). */
function namingCodec(codec: CompressionCodec, decompress: Decompress): Decompress {
  return (input, length) => {
    try {
      return decompress(input, length)
    } catch (error) {
      throw new Error(`its ${codec} data cannot be decompressed (${(error as Error).message})`)
    }
  }
}

/**
 * The decoders hyparquet lacks, from hyparquet-compressors; Snappy stays hyparquet's own (the
 * package's WebAssembly one keeps the memory of the largest page it saw). Each writes into a
 * buffer of the size the page header declares, which checkPages has bounded: given none, the
 * Zstandard decoder allocates what the frame header claims, gigabytes if it says so.
 */
async function loadDecompressors(): Promise<Compressors> {
  const decoders = await import('hyparquet-compressors')
  return {
    GZIP: namingCodec('GZIP', decoders.decompressGzip),
    BROTLI: namingCodec('BROTLI', decoders.decompressBrotli),
    LZ4: namingCodec('LZ4', decoders.decompressLz4),
    LZ4_RAW: namingCodec('LZ4_RAW', decoders.decompressLz4Raw),
    ZSTD: namingCodec('ZSTD', (input, length) => decoders.decompressZstd(input, new Uint8Array(length)))
  }
}

/** Where in the file an error is: row group (1-based, as the user counts) and column. */
function location(group: number, column?: string): string {
  return `row group ${group + 1}${column === undefined ? '' : `, column "${column}"`}`
}

function formatBytes(bytes: number): string {
  if (bytes < 1 << 10) return `${bytes} bytes`
  if (bytes < 1 << 20) return `${(bytes / (1 << 10)).toFixed(1)} KiB`
  if (bytes < 1 << 30) return `${(bytes / (1 << 20)).toFixed(1)} MiB`
  return `${(bytes / (1 << 30)).toFixed(1)} GiB`
}

function columnName(meta: ColumnMetaData): string {
  return meta.path_in_schema.join('.')
}

/** Where a column chunk starts: its dictionary page when it has one (hyparquet reads from there). */
function chunkStart(meta: ColumnMetaData): number {
  return Number(meta.dictionary_page_offset || meta.data_page_offset)
}

/**
 * Checks the footer's sizes against the file: row and value counts, and that every column chunk
 * lies between the magic bytes and the footer in a codec that can be read.
 */
function checkFooter(metadata: FileMetaData, fileBytes: number): void {
  const rows = BigInt(metadata.num_rows)
  const groupRows = metadata.row_groups.reduce((sum, group) => sum + BigInt(group.num_rows), 0n)
  if (rows < 0n || groupRows !== rows) {
    throw new ParquetFileError(`the footer declares ${rows} rows, but its row groups ${groupRows}`)
  }
  if (rows > BigInt(fileBytes * MAX_ROWS_PER_BYTE)) {
    throw new ParquetFileError(
      `declares ${rows} rows in ${formatBytes(fileBytes)}: more rows than the file can hold (damaged or forged)`
    )
  }
  const dataEnd = fileBytes - 8 - metadata.metadata_length
  let values = 0n
  metadata.row_groups.forEach((group, g) => {
    if (group.num_rows < 0n) throw new ParquetFileError(`${location(g)} declares ${group.num_rows} rows`)
    for (const chunk of group.columns) {
      const meta = chunk.meta_data
      if (!meta) throw new ParquetFileError(`${location(g)} has a column chunk without metadata`)
      const where = location(g, columnName(meta))
      if (chunk.file_path) throw new ParquetFileError(`${where} lies in another file (${chunk.file_path})`)
      if (!(meta.codec in CODEC_EXPANSION)) {
        throw new ParquetFileError(
          `${where} is ${meta.codec}-compressed, which cannot be read here; ` +
            `write the file with one of ${Object.keys(CODEC_EXPANSION).join(', ')}`
        )
      }
      const start = chunkStart(meta)
      const end = start + Number(meta.total_compressed_size)
      if (!(start >= 4 && end >= start && end <= dataEnd)) {
        throw new ParquetFileError(
          `${where} claims bytes ${start}–${end}, outside the file's data (bytes 4–${dataEnd})`
        )
      }
      if (meta.num_values < 0n) throw new ParquetFileError(`${where} declares ${meta.num_values} values`)
      values += BigInt(meta.num_values)
    }
  })
  if (values > BigInt(fileBytes * MAX_VALUES_PER_BYTE)) {
    throw new ParquetFileError(
      `declares ${values} values in ${formatBytes(fileBytes)}: more than the file can hold (damaged or forged)`
    )
  }
}

function readBytes(fd: number, position: number, length: number): Uint8Array {
  const bytes = Buffer.alloc(length)
  const read = readSync(fd, bytes, 0, length, position)
  return bytes.subarray(0, read)
}

/** The page header at `position` and its length in bytes, read from at most `end`. */
function readPageHeader(
  parquetHeader: ParquetHeaderReader,
  fd: number,
  position: number,
  end: number
): { header: PageHeader; length: number } {
  for (
    let window = Math.min(HEADER_WINDOW, end - position);
    ;
    window = Math.min(window * 4, end - position)
  ) {
    const bytes = readBytes(fd, position, window)
    const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 }
    try {
      return { header: parquetHeader(reader), length: reader.offset }
    } catch (error) {
      if (window >= end - position) {
        throw new ParquetFileError(
          `the page header at byte ${position} cannot be read (${(error as Error).message})`
        )
      }
    }
  }
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0
}

/** Values a data page declares, and for a flat column the rows they are. */
function pageValues(header: PageHeader): number | undefined {
  return header.data_page_header?.num_values ?? header.data_page_header_v2?.num_values
}

/**
 * Walks a column chunk's page headers, before hyparquet decodes it: each page must lie inside the
 * chunk, decompress to no more than its codec can produce (and MAX_PAGE_BYTES), and hold no more
 * values than the chunk and the row group declare.
 */
function checkPages(
  parquetHeader: ParquetHeaderReader,
  fd: number,
  meta: ColumnMetaData,
  groupRows: number,
  flat: boolean
): void {
  const end = chunkStart(meta) + Number(meta.total_compressed_size)
  const expansion = CODEC_EXPANSION[meta.codec]!
  let values = 0
  // hyparquet stops a byte short of the chunk's end too.
  for (let position = chunkStart(meta); position < end - 1;) {
    const { header, length } = readPageHeader(parquetHeader, fd, position, end)
    const where = `the page at byte ${position}`
    const { compressed_page_size: compressed, uncompressed_page_size: uncompressed } = header
    if (!isCount(compressed) || !isCount(uncompressed) || position + length + compressed > end) {
      throw new ParquetFileError(`${where} claims ${compressed} bytes, past the end of its column chunk`)
    }
    if (uncompressed > MAX_PAGE_BYTES) {
      throw new ParquetFileError(
        `${where} claims ${formatBytes(uncompressed)} uncompressed, more than a page holds (${formatBytes(MAX_PAGE_BYTES)})`
      )
    }
    if (uncompressed > compressed * expansion) {
      throw new ParquetFileError(
        `${where} claims to decompress ${formatBytes(compressed)} to ${formatBytes(uncompressed)}, more than ${meta.codec} can`
      )
    }
    const dictionaryValues = header.dictionary_page_header?.num_values
    // Every dictionary value takes at least a bit.
    if (
      dictionaryValues !== undefined &&
      !(isCount(dictionaryValues) && dictionaryValues <= uncompressed * 8)
    ) {
      throw new ParquetFileError(
        `${where} claims ${dictionaryValues} dictionary values in ${formatBytes(uncompressed)}`
      )
    }
    const count = pageValues(header)
    if (count !== undefined) {
      const rows = header.data_page_header_v2?.num_rows ?? (flat ? count : 0)
      if (!isCount(count) || count > MAX_PAGE_VALUES || !isCount(rows) || rows > groupRows) {
        throw new ParquetFileError(`${where} claims ${count} values, more than a page or its row group holds`)
      }
      values += count
    }
    position += length + compressed
  }
  if (values > Number(meta.num_values)) {
    throw new ParquetFileError(
      `its pages hold ${values} values, the column chunk declares ${meta.num_values}`
    )
  }
}

/** Parquet values as JSON-like values: bigints as numbers (or strings past 2^53), dates as ISO text. */
function plainValue(value: unknown, text: (bytes: Uint8Array) => string): unknown {
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString()
  }
  if (value instanceof Date) return value.toISOString()
  if (value instanceof Uint8Array) return text(value)
  if (Array.isArray(value)) return value.map((item) => plainValue(item, text))
  if (typeof value === 'object' && value !== null) {
    const out: ParquetRow = {}
    for (const [key, inner] of Object.entries(value)) out[key] = plainValue(inner, text)
    return out
  }
  return value
}

/** About what a value takes as JSON text: what the decoded rows are measured by. */
function decodedSize(value: unknown): number {
  if (typeof value === 'string') return value.length + 2
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + decodedSize(item) + 1, 2)
  if (typeof value === 'object' && value !== null) {
    let size = 2
    for (const [key, inner] of Object.entries(value)) size += key.length + 4 + decodedSize(inner)
    return size
  }
  return 8
}

function holdsReplacement(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\uFFFD')
  if (Array.isArray(value)) return value.some(holdsReplacement)
  if (typeof value === 'object' && value !== null) return Object.values(value).some(holdsReplacement)
  return false
}

/** Reads slices of a checked file, column by column, so that errors and sizes name their column. */
class SliceReader {
  private decoded = 0
  private readonly decoder = new TextDecoder()

  constructor(
    private readonly hyparquet: Hyparquet,
    private readonly compressors: Compressors,
    private readonly file: AsyncBuffer,
    private readonly metadata: FileMetaData,
    private readonly columns: string[]
  ) {}

  async read(group: number, groupStart: number, start: number, end: number): Promise<ParquetSlice> {
    const rows: ParquetRow[] = Array.from({ length: end - start }, () => ({}))
    const invalidUtf8 = new Set<number>()
    for (const column of this.columns) {
      const values = await this.readColumn(group, groupStart, column, start, end, invalidUtf8)
      values.forEach((value, i) => (rows[i][column] = value))
    }
    return {
      firstRow: start,
      rows,
      totalRows: Number(this.metadata.num_rows),
      invalidUtf8Rows: [...invalidUtf8].sort((a, b) => a - b)
    }
  }

  private async readColumn(
    group: number,
    groupStart: number,
    column: string,
    start: number,
    end: number,
    invalidUtf8: Set<number>
  ): Promise<unknown[]> {
    let invalid = 0
    const text = (bytes: Uint8Array): string => {
      if (!isUtf8(bytes)) invalid++
      return this.decoder.decode(bytes)
    }
    let objects
    try {
      objects = await this.hyparquet.parquetReadObjects({
        file: this.file,
        metadata: this.metadata,
        columns: [column],
        rowStart: start,
        rowEnd: end,
        compressors: this.compressors,
        parsers: { stringFromBytes: (bytes) => bytes && text(bytes) }
      })
    } catch (error) {
      throw new ParquetFileError(`${location(group, column)}: ${(error as Error).message}`)
    }
    const values = objects.map((row) => row[column])
    const missing = values.findIndex((value) => value === undefined)
    if (objects.length !== end - start || missing >= 0) {
      const held = start - groupStart + (missing >= 0 ? missing : objects.length)
      throw new ParquetFileError(
        `${location(group, column)}: its data ends after ${held} row${held === 1 ? '' : 's'}, fewer than the row group declares`
      )
    }
    const plain = values.map((value) => plainValue(value, text))
    this.decoded += plain.reduce((sum: number, value) => sum + decodedSize(value), 0)
    if (this.decoded > this.file.byteLength * MAX_DECODED_EXPANSION) {
      throw new ParquetFileError(
        `${location(group, column)}: the rows decode to more than ${MAX_DECODED_EXPANSION} times the file's ` +
          `${formatBytes(this.file.byteLength)} (${formatBytes(this.decoded)} by row ${end}), which no dataset repeats; ` +
          'the file is damaged or built to exhaust memory'
      )
    }
    if (invalid > 0) plain.forEach((value, i) => holdsReplacement(value) && invalidUtf8.add(start + i + 1))
    return plain
  }
}

/** The top-level columns, in the file's order, and those of them without lists or fields: one value a row. */
function topLevelColumns(
  hyparquet: Hyparquet,
  metadata: FileMetaData
): { names: string[]; flat: Set<string> } {
  const children = hyparquet.parquetSchema(metadata).children
  const flat = children.filter((c) => c.children.length === 0 && c.element.repetition_type !== 'REPEATED')
  return { names: children.map((c) => c.element.name), flat: new Set(flat.map((c) => c.element.name)) }
}

/**
 * The file's rows in slices of SLICE_ROWS (never across row groups), at most `maxRows` of them.
 * Throws ParquetFileError when the file is not Parquet, declares more than it holds or cannot be
 * decoded.
 */
export async function* readParquetRows(file: string, maxRows = Infinity): AsyncGenerator<ParquetSlice> {
  // Loaded on demand: only Parquet imports need it.
  const hyparquet = await import('hyparquet')
  const { parquetHeader } = await import('hyparquet/src/column.js')
  let buffer: AsyncBuffer
  let metadata: FileMetaData
  let columns: { names: string[]; flat: Set<string> }
  try {
    buffer = await hyparquet.asyncBufferFromFile(file)
    metadata = await hyparquet.parquetMetadataAsync(buffer)
    columns = topLevelColumns(hyparquet, metadata)
  } catch (error) {
    throw new ParquetFileError(`not a readable Parquet file (${(error as Error).message})`)
  }
  try {
    checkFooter(metadata, buffer.byteLength)
  } catch (error) {
    if (error instanceof ParquetFileError) throw error
    // A field of the wrong type or missing: the footer is damaged.
    throw new ParquetFileError(`the footer cannot be read (${(error as Error).message})`)
  }
  const reader = new SliceReader(hyparquet, await loadDecompressors(), buffer, metadata, columns.names)
  const fd = openSync(file, 'r')
  try {
    let groupStart = 0
    for (const [g, group] of metadata.row_groups.entries()) {
      if (groupStart >= maxRows) return
      const groupRows = Number(group.num_rows)
      const groupEnd = Math.min(groupStart + groupRows, maxRows)
      for (const chunk of group.columns) {
        const meta = chunk.meta_data!
        const flat = meta.path_in_schema.length === 1 && columns.flat.has(meta.path_in_schema[0])
        try {
          checkPages(parquetHeader, fd, meta, groupRows, flat)
        } catch (error) {
          if (!(error instanceof ParquetFileError)) throw error
          throw new ParquetFileError(`${location(g, columnName(meta))}: ${error.message}`)
        }
      }
      for (let start = groupStart; start < groupEnd; start += SLICE_ROWS) {
        yield await reader.read(g, groupStart, start, Math.min(start + SLICE_ROWS, groupEnd))
      }
      groupStart += groupRows
    }
  } finally {
    closeSync(fd)
  }
}

/**
 * Writes small Parquet files for tests (no Parquet writer is installed): UTF-8 string (or double)
 * columns, REQUIRED, PLAIN-encoded, uncompressed or Snappy-compressed, one data page per column
 * chunk, any number of row groups; or one dictionary-encoded column. Damaged and forged files too:
 * footers and page headers that claim more than the file holds or a codec they are not in, Snappy
 * data that cannot be decompressed. (Files in the other codecs are real ones, under
 * test/fixtures/parquet.) Layout and metadata after the Parquet format spec (apache/parquet-format,
 * parquet.thrift), the metadata in Thrift's compact protocol; Snappy after its format description
 * (google/snappy, format_description.txt).
 */
import { writeFileSync } from 'node:fs'

/** Thrift compact protocol, just what the file metadata needs. */
class CompactWriter {
  private readonly bytes: number[] = []
  private lastField: number[] = [0]

  private varint(value: bigint): void {
    let v = value
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80)
      v >>= 7n
    }
    this.bytes.push(Number(v))
  }

  private zigzag(value: bigint): void {
    this.varint(value >= 0n ? value << 1n : (-value << 1n) - 1n)
  }

  private header(id: number, type: number): void {
    const delta = id - this.lastField[this.lastField.length - 1]
    if (delta > 0 && delta <= 15) this.bytes.push((delta << 4) | type)
    else {
      this.bytes.push(type)
      this.zigzag(BigInt(id))
    }
    this.lastField[this.lastField.length - 1] = id
  }

  i32(id: number, value: number): this {
    this.header(id, 5)
    this.zigzag(BigInt(value))
    return this
  }

  i64(id: number, value: number): this {
    this.header(id, 6)
    this.zigzag(BigInt(value))
    return this
  }

  binary(id: number, value: string): this {
    this.header(id, 8)
    const data = Buffer.from(value, 'utf8')
    this.varint(BigInt(data.length))
    this.bytes.push(...data)
    return this
  }

  struct(id: number, body: (w: this) => void): this {
    this.header(id, 12)
    this.structBody(body)
    return this
  }

  private structBody(body: (w: this) => void): void {
    this.lastField.push(0)
    body(this)
    this.bytes.push(0)
    this.lastField.pop()
  }

  /** A list of structs (type 12), of i32 (5) or of strings (8). */
  list<T>(id: number, type: 5 | 8 | 12, items: readonly T[], item: (w: this, value: T) => void): this {
    this.header(id, 9)
    if (items.length < 15) this.bytes.push((items.length << 4) | type)
    else {
      this.bytes.push(0xf0 | type)
      this.varint(BigInt(items.length))
    }
    for (const value of items) {
      if (type === 12) this.structBody((w) => item(w, value))
      else item(this, value)
    }
    return this
  }

  /** List elements are written without field headers. */
  element(value: number | string): void {
    if (typeof value === 'number') this.zigzag(BigInt(value))
    else {
      const data = Buffer.from(value, 'utf8')
      this.varint(BigInt(data.length))
      this.bytes.push(...data)
    }
  }

  /** Ends the top-level struct. */
  done(): Buffer {
    return Buffer.from([...this.bytes, 0])
  }
}

const DOUBLE = 5
const BYTE_ARRAY = 6
const UTF8 = 0
const REQUIRED = 0
const PLAIN = 0
const RLE = 3
const RLE_DICTIONARY = 8
const DATA_PAGE = 0
const DICTIONARY_PAGE = 2
const UNCOMPRESSED = 0
const SNAPPY = 1
/** Codecs a forged footer names (parquet.thrift's CompressionCodec): one read here, one not. */
export const ZSTD = 6
export const LZO = 3

export type ParquetValue = string | number | Uint8Array

/** PLAIN values: byte arrays with their 4-byte length, doubles as 8 bytes, little-endian. */
function plainValues(values: readonly ParquetValue[]): Buffer {
  return Buffer.concat(
    values.map((value) => {
      if (typeof value === 'number') {
        const data = Buffer.alloc(8)
        data.writeDoubleLE(value)
        return data
      }
      const data = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value)
      const length = Buffer.alloc(4)
      length.writeUInt32LE(data.length)
      return Buffer.concat([length, data])
    })
  )
}

function varint(value: number): number[] {
  const bytes: number[] = []
  for (let v = value; ; v = Math.floor(v / 128)) {
    if (v < 128) return [...bytes, v]
    bytes.push((v % 128) | 0x80)
  }
}

/** Snappy data of literal runs only (no copies): valid, and never smaller than its input. */
function snappyLiterals(data: Buffer): Buffer {
  const out = [...varint(data.length)]
  for (let at = 0; at < data.length; at += 60) {
    const run = data.subarray(at, at + 60)
    out.push((run.length - 1) << 2, ...run)
  }
  return Buffer.from(out)
}

/** The same, its first element a copy from 5 bytes before the start of the output. */
function snappyCorrupt(data: Buffer): Buffer {
  const valid = snappyLiterals(data)
  const lengthBytes = varint(data.length).length
  return Buffer.concat([
    valid.subarray(0, lengthBytes),
    Buffer.from([0x01, 0x05]),
    valid.subarray(lengthBytes + 2)
  ])
}

/** A page: its header (the sizes it claims) and its data as stored. */
function page(type: number, stored: Buffer, uncompressed: number, body: (w: CompactWriter) => void): Buffer {
  const header = new CompactWriter().i32(1, type).i32(2, uncompressed).i32(3, stored.length)
  body(header)
  return Buffer.concat([header.done(), stored])
}

/** A column chunk as written, and what the footer says of it. */
interface Chunk {
  name: string
  type: number
  codec: number
  encodings: number[]
  /** Its pages, the dictionary page (dictionaryBytes long) first when it has one. */
  bytes: Buffer
  dictionaryBytes: number
  values: number
  uncompressed: number
  /** The size the footer claims for it, when not its true one. */
  claimedBytes?: number
}

interface Group {
  chunks: Chunk[]
  /** Rows the footer declares for it. */
  rows: number
}

/** Writes the chunks after the magic bytes, then the footer that points at them. */
function writeParquet(file: string, groups: readonly Group[]): void {
  const columns = groups[0].chunks
  const parts: Buffer[] = [Buffer.from('PAR1')]
  let offset = 4
  const placed = groups.map((group) => ({
    rows: group.rows,
    chunks: group.chunks.map((chunk) => {
      const at = offset
      parts.push(chunk.bytes)
      offset += chunk.bytes.length
      return { ...chunk, offset: at }
    })
  }))
  const metadata = new CompactWriter()
    .i32(1, 1)
    .list(
      2,
      12,
      [
        { root: true, name: 'schema', type: 0 },
        ...columns.map((c) => ({ root: false, name: c.name, type: c.type }))
      ],
      (w, element) => {
        if (element.root) w.binary(4, element.name).i32(5, columns.length)
        else if (element.type === BYTE_ARRAY)
          w.i32(1, BYTE_ARRAY).i32(3, REQUIRED).binary(4, element.name).i32(6, UTF8)
        else w.i32(1, element.type).i32(3, REQUIRED).binary(4, element.name)
      }
    )
    .i64(
      3,
      groups.reduce((n, g) => n + g.rows, 0)
    )
    .list(4, 12, placed, (w, group) => {
      w.list(1, 12, group.chunks, (c, chunk) =>
        c.i64(2, chunk.offset).struct(3, (m) => {
          m.i32(1, chunk.type)
            .list(2, 5, chunk.encodings, (l, v) => l.element(v))
            .list(3, 8, [chunk.name], (l, v) => l.element(v))
            .i32(4, chunk.codec)
            .i64(5, chunk.values)
            .i64(6, chunk.uncompressed)
            .i64(7, chunk.claimedBytes ?? chunk.bytes.length)
            .i64(9, chunk.offset + chunk.dictionaryBytes)
          if (chunk.dictionaryBytes > 0) m.i64(11, chunk.offset)
        })
      )
        .i64(
          2,
          group.chunks.reduce((n, c) => n + c.uncompressed, 0)
        )
        .i64(3, group.rows)
    })
    .done()
  const length = Buffer.alloc(4)
  length.writeUInt32LE(metadata.length)
  writeFileSync(file, Buffer.concat([...parts, metadata, length, Buffer.from('PAR1')]))
}

export interface ParquetOptions {
  /** Rows each row group (and so the footer) declares, when not the rows it holds. */
  declaredRows?: number
  /** Snappy-compressed pages ('corrupt': each starts with a copy from before the output's start). */
  snappy?: 'valid' | 'corrupt'
  /** The uncompressed size each page header claims, when not the true one. */
  claimedPageBytes?: number
  /** The size the footer claims for each column chunk, when not the true one. */
  claimedChunkBytes?: number
  /** The codec the footer names (parquet.thrift's number), when not the one the pages are in. */
  claimedCodec?: number
}

/**
 * Writes rows of string (or double, or raw byte) columns as a Parquet file, `rowGroupSize` rows per
 * row group; a column's type is that of its first value.
 */
export function writeParquetStrings(
  file: string,
  rows: readonly Record<string, ParquetValue>[],
  rowGroupSize = rows.length,
  options: ParquetOptions = {}
): void {
  const names = Object.keys(rows[0])
  const compress = { valid: snappyLiterals, corrupt: snappyCorrupt, none: (data: Buffer) => data }[
    options.snappy ?? 'none'
  ]
  const groups: Group[] = []
  for (let start = 0; start < rows.length; start += rowGroupSize) {
    const groupRows = rows.slice(start, start + rowGroupSize)
    const chunks = names.map((name): Chunk => {
      const data = plainValues(groupRows.map((row) => row[name]))
      const uncompressed = options.claimedPageBytes ?? data.length
      const bytes = page(DATA_PAGE, compress(data), uncompressed, (w) =>
        w.struct(5, (h) => h.i32(1, groupRows.length).i32(2, PLAIN).i32(3, RLE).i32(4, RLE))
      )
      return {
        name,
        type: typeof groupRows[0][name] === 'number' ? DOUBLE : BYTE_ARRAY,
        codec: options.claimedCodec ?? (options.snappy ? SNAPPY : UNCOMPRESSED),
        encodings: [PLAIN],
        bytes,
        dictionaryBytes: 0,
        values: groupRows.length,
        uncompressed: bytes.length - data.length + uncompressed,
        claimedBytes: options.claimedChunkBytes
      }
    })
    groups.push({ chunks, rows: options.declaredRows ?? groupRows.length })
  }
  writeParquet(file, groups)
}

/**
 * Writes one string column holding `value` in each of `rows` rows, dictionary-encoded as writers
 * do a constant column: the dictionary holds the value once, and the data page is a single byte
 * (bit width 0: every row is entry 0), however many rows it declares.
 */
export function writeParquetRepeated(file: string, column: string, value: string, rows: number): void {
  const entries = plainValues([value])
  const dictionary = page(DICTIONARY_PAGE, entries, entries.length, (w) =>
    w.struct(7, (h) => h.i32(1, 1).i32(2, PLAIN))
  )
  const indexes = Buffer.from([0])
  const data = page(DATA_PAGE, indexes, indexes.length, (w) =>
    w.struct(5, (h) => h.i32(1, rows).i32(2, RLE_DICTIONARY).i32(3, RLE).i32(4, RLE))
  )
  const bytes = Buffer.concat([dictionary, data])
  writeParquet(file, [
    {
      rows,
      chunks: [
        {
          name: column,
          type: BYTE_ARRAY,
          codec: UNCOMPRESSED,
          encodings: [PLAIN, RLE_DICTIONARY],
          bytes,
          dictionaryBytes: dictionary.length,
          values: rows,
          uncompressed: bytes.length
        }
      ]
    }
  ])
}

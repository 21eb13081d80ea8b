/**
 * Writes small Parquet files for tests (no Parquet writer is installed): UTF-8 string columns,
 * REQUIRED, PLAIN-encoded, uncompressed, one data page per column chunk, any number of row groups.
 * Layout and metadata after the Parquet format spec (apache/parquet-format, parquet.thrift), the
 * metadata in Thrift's compact protocol.
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

const BYTE_ARRAY = 6
const UTF8 = 0
const REQUIRED = 0
const PLAIN = 0
const RLE = 3
const DATA_PAGE = 0

function plainStrings(values: readonly string[]): Buffer {
  return Buffer.concat(
    values.map((value) => {
      const data = Buffer.from(value, 'utf8')
      const length = Buffer.alloc(4)
      length.writeUInt32LE(data.length)
      return Buffer.concat([length, data])
    })
  )
}

/** Writes rows of string columns as a Parquet file, `rowGroupSize` rows per row group. */
export function writeParquetStrings(
  file: string,
  rows: readonly Record<string, string>[],
  rowGroupSize = rows.length
): void {
  const columns = Object.keys(rows[0])
  const chunks: Buffer[] = [Buffer.from('PAR1')]
  let offset = 4
  const groups: { columns: { offset: number; size: number; values: number }[]; rows: number }[] = []
  for (let start = 0; start < rows.length; start += rowGroupSize) {
    const groupRows = rows.slice(start, start + rowGroupSize)
    const groupColumns = columns.map((name) => {
      const data = plainStrings(groupRows.map((row) => row[name]))
      const header = new CompactWriter()
        .i32(1, DATA_PAGE)
        .i32(2, data.length)
        .i32(3, data.length)
        .struct(5, (w) => w.i32(1, groupRows.length).i32(2, PLAIN).i32(3, RLE).i32(4, RLE))
        .done()
      const chunk = { offset, size: header.length + data.length, values: groupRows.length }
      chunks.push(header, data)
      offset += chunk.size
      return chunk
    })
    groups.push({ columns: groupColumns, rows: groupRows.length })
  }
  const metadata = new CompactWriter()
    .i32(1, 1)
    .list(
      2,
      12,
      [{ root: true, name: 'schema' }, ...columns.map((name) => ({ root: false, name }))],
      (w, element) => {
        if (element.root) w.binary(4, element.name).i32(5, columns.length)
        else w.i32(1, BYTE_ARRAY).i32(3, REQUIRED).binary(4, element.name).i32(6, UTF8)
      }
    )
    .i64(3, rows.length)
    .list(4, 12, groups, (w, group) => {
      w.list(1, 12, group.columns, (c, chunk) => {
        const name = columns[group.columns.indexOf(chunk)]
        c.i64(2, chunk.offset).struct(3, (m) =>
          m
            .i32(1, BYTE_ARRAY)
            .list(2, 5, [PLAIN], (l, v) => l.element(v))
            .list(3, 8, [name], (l, v) => l.element(v))
            .i32(4, 0)
            .i64(5, chunk.values)
            .i64(6, chunk.size)
            .i64(7, chunk.size)
            .i64(9, chunk.offset)
        )
      })
        .i64(
          2,
          group.columns.reduce((n, c) => n + c.size, 0)
        )
        .i64(3, group.rows)
    })
    .done()
  const length = Buffer.alloc(4)
  length.writeUInt32LE(metadata.length)
  writeFileSync(file, Buffer.concat([...chunks, metadata, length, Buffer.from('PAR1')]))
}

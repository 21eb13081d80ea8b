/**
 * The GGUF container, version 3, as ggml's docs/gguf.md specifies it (all little-endian):
 *
 *   "GGUF" magic, u32 version, u64 tensor count, u64 metadata count
 *   metadata: { string key, u32 value type, value }*   (arrays: u32 item type, u64 length, items)
 *   tensor infos: { string name, u32 dims, u64 ne[dims] (fastest-varying first), u32 ggml type,
 *                   u64 offset from the start of the data section, a multiple of the alignment }*
 *   padding to `general.alignment`, then each tensor's bytes, each padded to the alignment
 *
 * Strings are a u64 byte length and UTF-8 bytes, without a terminator. This module knows only the
 * container: which keys and tensors a model needs is decided by gguf-model.ts and gguf-vocab.ts.
 */

/** Byte alignment of the data section and of every tensor in it (written as `general.alignment`). */
export const GGUF_ALIGNMENT = 32
const GGUF_MAGIC = 0x46554747 // "GGUF" read as a little-endian u32
const GGUF_VERSION = 3

/** Value type codes of gguf.md's `gguf_metadata_value_type`. */
const VALUE_TYPE = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12
} as const
type ScalarType = Exclude<keyof typeof VALUE_TYPE, 'array'>

export type MetadataValue =
  | { type: Exclude<ScalarType, 'string' | 'bool' | 'uint64' | 'int64'>; value: number }
  | { type: 'uint64' | 'int64'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; itemType: 'string'; values: readonly string[] }
  | { type: 'array'; itemType: 'float32' | 'int32' | 'uint32'; values: ArrayLike<number> }

export type Metadata = ReadonlyArray<readonly [key: string, value: MetadataValue]>

/** One tensor's entry in the header: `ne` is the shape fastest-varying first (an HF [out, in] is [in, out]). */
export interface TensorHeader {
  name: string
  ne: readonly number[]
  ggmlType: number
  byteLength: number
}

type Setter = (view: DataView, at: number, value: number | bigint | boolean) => void

/** Each fixed-size value type: its bytes and how to write it, little-endian. */
const SCALAR_WRITERS: Record<Exclude<ScalarType, 'string'>, [bytes: number, set: Setter]> = {
  uint8: [1, (view, at, value) => view.setUint8(at, Number(value))],
  int8: [1, (view, at, value) => view.setInt8(at, Number(value))],
  bool: [1, (view, at, value) => view.setUint8(at, Number(value))],
  uint16: [2, (view, at, value) => view.setUint16(at, Number(value), true)],
  int16: [2, (view, at, value) => view.setInt16(at, Number(value), true)],
  uint32: [4, (view, at, value) => view.setUint32(at, Number(value), true)],
  int32: [4, (view, at, value) => view.setInt32(at, Number(value), true)],
  float32: [4, (view, at, value) => view.setFloat32(at, Number(value), true)],
  uint64: [8, (view, at, value) => view.setBigUint64(at, BigInt(value), true)],
  int64: [8, (view, at, value) => view.setBigInt64(at, BigInt(value), true)],
  float64: [8, (view, at, value) => view.setFloat64(at, Number(value), true)]
}

/** A growable little-endian byte buffer for the header. */
class ByteWriter {
  private bytes = new Uint8Array(1 << 16)
  private view = new DataView(this.bytes.buffer)
  length = 0

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return
    let size = this.bytes.length * 2
    while (size < this.length + extra) size *= 2
    const grown = new Uint8Array(size)
    grown.set(this.bytes.subarray(0, this.length))
    this.bytes = grown
    this.view = new DataView(grown.buffer)
  }

  scalar(type: ScalarType, value: number | bigint | boolean | string): void {
    if (type === 'string') return this.string(value as string)
    const [size, set] = SCALAR_WRITERS[type]
    this.reserve(size)
    set(this.view, this.length, value as number | bigint | boolean)
    this.length += size
  }

  string(text: string): void {
    const utf8 = Buffer.from(text, 'utf8')
    this.scalar('uint64', utf8.length)
    this.reserve(utf8.length)
    this.bytes.set(utf8, this.length)
    this.length += utf8.length
  }

  padTo(alignment: number): void {
    while (this.length % alignment !== 0) this.scalar('uint8', 0)
  }

  result(): Uint8Array {
    return this.bytes.subarray(0, this.length)
  }
}

function checkValue(key: string, value: MetadataValue): void {
  const integerRanges: Partial<Record<MetadataValue['type'], [number, number]>> = {
    uint8: [0, 255],
    int8: [-128, 127],
    uint16: [0, 65535],
    int16: [-32768, 32767],
    uint32: [0, 2 ** 32 - 1],
    int32: [-(2 ** 31), 2 ** 31 - 1]
  }
  const range = integerRanges[value.type]
  if (range && 'value' in value) {
    const n = value.value as number
    if (!Number.isInteger(n) || n < range[0] || n > range[1]) {
      throw new Error(`gguf: metadata "${key}" must be a ${value.type}, got ${n}`)
    }
  }
}

function writeMetadataValue(out: ByteWriter, key: string, value: MetadataValue): void {
  checkValue(key, value)
  out.scalar('uint32', VALUE_TYPE[value.type])
  if (value.type !== 'array') {
    out.scalar(value.type, value.value)
    return
  }
  out.scalar('uint32', VALUE_TYPE[value.itemType])
  out.scalar('uint64', value.values.length)
  for (let i = 0; i < value.values.length; i++) out.scalar(value.itemType, value.values[i])
}

/**
 * The header bytes (everything before the data section, padded to the alignment) and each
 * tensor's offset in the data section. Tensor data follows in the order given, each padded.
 */
export function encodeGgufHeader(
  metadata: Metadata,
  tensors: readonly TensorHeader[]
): { header: Uint8Array; offsets: number[]; dataBytes: number } {
  const seen = new Set<string>()
  for (const [key] of metadata) {
    if (seen.has(key)) throw new Error(`gguf: metadata key "${key}" is given twice`)
    seen.add(key)
  }
  const out = new ByteWriter()
  out.scalar('uint32', GGUF_MAGIC)
  out.scalar('uint32', GGUF_VERSION)
  out.scalar('uint64', tensors.length)
  out.scalar('uint64', metadata.length)
  for (const [key, value] of metadata) {
    out.string(key)
    writeMetadataValue(out, key, value)
  }
  const offsets: number[] = []
  let offset = 0
  for (const tensor of tensors) {
    out.string(tensor.name)
    out.scalar('uint32', tensor.ne.length)
    for (const n of tensor.ne) out.scalar('uint64', n)
    out.scalar('uint32', tensor.ggmlType)
    out.scalar('uint64', offset)
    offsets.push(offset)
    offset = alignUp(offset + tensor.byteLength)
  }
  out.padTo(GGUF_ALIGNMENT)
  return { header: out.result(), offsets, dataBytes: offset }
}

function alignUp(bytes: number): number {
  return Math.ceil(bytes / GGUF_ALIGNMENT) * GGUF_ALIGNMENT
}

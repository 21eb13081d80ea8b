/**
 * A minimal protocol-buffers writer: exactly the wire format ONNX needs (varints, 32/64-bit
 * fixed values, length-delimited fields, packed repeated scalars) and nothing else.
 *
 * Length-delimited fields are written like protobufjs does it: `fork()` marks where a message
 * starts and `join()` inserts its length once the body is known, so a deeply nested model is
 * encoded in one pass. Large byte payloads (tensor data) are kept as references to the caller's
 * buffer and copied exactly once, by `finish()`.
 */

export const WireType = { varint: 0, fixed64: 1, lengthDelimited: 2, fixed32: 5 } as const

/** Byte arrays at least this long are referenced, not copied into the scratch buffer. */
const REFERENCE_THRESHOLD = 4096
const SCRATCH_SIZE = 64 * 1024

const textEncoder = new TextEncoder()

interface OpenMessage {
  /** Index in `parts` of the placeholder that will hold the length varint. */
  placeholder: number
  /** Total bytes written when the message body started. */
  start: number
}

export class ProtoWriter {
  private readonly parts: Uint8Array[] = []
  private scratch = new Uint8Array(SCRATCH_SIZE)
  private scratchView = new DataView(this.scratch.buffer)
  /** Start of the bytes in `scratch` not yet moved to `parts`. */
  private flushedUpTo = 0
  private pos = 0
  /** Bytes already moved to `parts` (the scratch tail is not counted). */
  private partsLength = 0
  private readonly open: OpenMessage[] = []

  /** Total bytes written so far. */
  get length(): number {
    return this.partsLength + this.pos - this.flushedUpTo
  }

  tag(field: number, wireType: number): this {
    return this.uint32((field << 3) | wireType)
  }

  /** An unsigned varint below 2^32. */
  uint32(value: number): this {
    this.reserve(5)
    this.putUint32(value)
    return this
  }

  /** A signed 64-bit varint (two's complement; negative values take ten bytes). */
  int64(value: number | bigint): this {
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) throw new Error(`protobuf.int64: ${value} is not a safe integer`)
      if (value >= 0 && value <= 0xffffffff) return this.uint32(value)
      return this.uint64Big(BigInt.asUintN(64, BigInt(value)))
    }
    return this.uint64Big(BigInt.asUintN(64, value))
  }

  private uint64Big(value: bigint): this {
    this.reserve(10)
    let v = value
    while (v > 0x7fn) {
      this.scratch[this.pos++] = Number(v & 0x7fn) | 0x80
      v >>= 7n
    }
    this.scratch[this.pos++] = Number(v)
    return this
  }

  float32(value: number): this {
    this.reserve(4)
    this.scratchView.setFloat32(this.pos, value, true)
    this.pos += 4
    return this
  }

  float64(value: number): this {
    this.reserve(8)
    this.scratchView.setFloat64(this.pos, value, true)
    this.pos += 8
    return this
  }

  /** Length-prefixed bytes. Large arrays are referenced and must stay unchanged until `finish()`. */
  bytes(data: Uint8Array): this {
    this.uint32(data.byteLength)
    if (data.byteLength >= REFERENCE_THRESHOLD) {
      this.flush()
      this.parts.push(data)
      this.partsLength += data.byteLength
      return this
    }
    this.reserve(data.byteLength)
    this.scratch.set(data, this.pos)
    this.pos += data.byteLength
    return this
  }

  /** Length-prefixed UTF-8. */
  string(value: string): this {
    // A UTF-8 encoding takes at most three bytes per UTF-16 code unit.
    const maxBytes = value.length * 3
    if (maxBytes > SCRATCH_SIZE / 2) return this.bytes(textEncoder.encode(value))
    // Reserve the longest length varint the string can need; close the gap if it was shorter.
    const lengthBytes = varintSize(maxBytes)
    this.reserve(lengthBytes + maxBytes)
    const lengthAt = this.pos
    const start = lengthAt + lengthBytes
    const { written } = textEncoder.encodeInto(value, this.scratch.subarray(start, start + maxBytes))
    const actualLengthBytes = varintSize(written)
    if (actualLengthBytes !== lengthBytes)
      this.scratch.copyWithin(lengthAt + actualLengthBytes, start, start + written)
    this.pos = lengthAt
    this.putUint32(written)
    this.pos += written
    return this
  }

  /** Starts a length-delimited body; close it with `join()`. */
  fork(): this {
    this.flush()
    this.open.push({ placeholder: this.parts.length, start: this.partsLength })
    this.parts.push(EMPTY)
    return this
  }

  /** Ends the body begun by the matching `fork()` and writes its length in front of it. */
  join(): this {
    const message = this.open.pop()
    if (!message) throw new Error('protobuf.join: no open message (join without fork)')
    this.flush()
    const bodyLength = this.partsLength - message.start
    const prefix = new Uint8Array(varintSize(bodyLength))
    let v = bodyLength
    let i = 0
    while (v > 0x7f) {
      prefix[i++] = (v & 0x7f) | 0x80
      v = Math.floor(v / 128)
    }
    prefix[i] = v
    this.parts[message.placeholder] = prefix
    this.partsLength += prefix.byteLength
    return this
  }

  /** All bytes written, in one new array. */
  finish(): Uint8Array {
    if (this.open.length > 0) throw new Error(`protobuf.finish: ${this.open.length} message(s) still open`)
    this.flush()
    const out = new Uint8Array(this.partsLength)
    let offset = 0
    for (const part of this.parts) {
      out.set(part, offset)
      offset += part.byteLength
    }
    return out
  }

  // --- field helpers: tag + value; scalar fields equal to proto3 defaults are still written ---

  uint32Field(field: number, value: number): this {
    return this.tag(field, WireType.varint).uint32(value)
  }

  int64Field(field: number, value: number | bigint): this {
    return this.tag(field, WireType.varint).int64(value)
  }

  float32Field(field: number, value: number): this {
    return this.tag(field, WireType.fixed32).float32(value)
  }

  stringField(field: number, value: string): this {
    return this.tag(field, WireType.lengthDelimited).string(value)
  }

  bytesField(field: number, value: Uint8Array): this {
    return this.tag(field, WireType.lengthDelimited).bytes(value)
  }

  /** A nested message: `body` writes its fields. */
  messageField(field: number, body: (w: this) => void): this {
    this.tag(field, WireType.lengthDelimited).fork()
    body(this)
    return this.join()
  }

  /** Repeated int64 in packed form (one length-delimited run of varints). */
  packedInt64Field(field: number, values: readonly (number | bigint)[]): this {
    if (values.length === 0) return this
    this.tag(field, WireType.lengthDelimited).fork()
    for (const v of values) this.int64(v)
    return this.join()
  }

  /** Repeated float in packed form. */
  packedFloat32Field(field: number, values: readonly number[]): this {
    if (values.length === 0) return this
    this.tag(field, WireType.lengthDelimited).uint32(values.length * 4)
    for (const v of values) this.float32(v)
    return this
  }

  /** Writes a varint below 2^32; the caller has reserved five bytes. */
  private putUint32(value: number): void {
    let v = value >>> 0
    while (v > 0x7f) {
      this.scratch[this.pos++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    this.scratch[this.pos++] = v
  }

  private reserve(bytes: number): void {
    if (this.pos + bytes <= this.scratch.byteLength) return
    this.flush()
    this.scratch = new Uint8Array(Math.max(SCRATCH_SIZE, bytes))
    this.scratchView = new DataView(this.scratch.buffer)
    this.pos = 0
    this.flushedUpTo = 0
  }

  /** Moves the pending scratch bytes into `parts` (as a view, not a copy). */
  private flush(): void {
    if (this.pos === this.flushedUpTo) return
    this.parts.push(this.scratch.subarray(this.flushedUpTo, this.pos))
    this.partsLength += this.pos - this.flushedUpTo
    this.flushedUpTo = this.pos
  }
}

const EMPTY = new Uint8Array(0)

/** Bytes a non-negative varint takes. */
export function varintSize(value: number): number {
  let size = 1
  let v = value
  while (v > 0x7f) {
    v = Math.floor(v / 128)
    size++
  }
  return size
}

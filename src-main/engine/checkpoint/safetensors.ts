/**
 * safetensors files (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}`,
 * then the data section. Offsets are relative to the data section.
 *
 * Reading keeps only the header in memory: a tensor's bytes are read on demand with one positioned
 * read of exactly its range, so opening a 16 GB checkpoint to take three tensors costs three reads.
 * This file holds the format and the reading (one file, shards, model folders); writing is in
 * safetensors-write.ts.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs'
import { dirname, isAbsolute, join, normalize } from 'node:path'
import { bfloat16ArrayToFloat32, float16ArrayToFloat32 } from './half-float'

export const DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1
} as const
export type SafetensorsDtype = keyof typeof DTYPE_BYTES

/** The spec caps the header at 100 MB; a larger length means a corrupt or foreign file. */
const MAX_HEADER_BYTES = 100_000_000
/**
 * A shard index lists one line per tensor, as a header does; one larger than a header may be is
 * not read into memory.
 */
const MAX_SHARD_INDEX_BYTES = MAX_HEADER_BYTES
/** Model tensors have at most 4 dimensions; a longer shape is a corrupt or hostile header. */
const MAX_TENSOR_RANK = 8
/** readSync/writeSync take at most 2 GiB per call; stay well below. */
export const IO_CHUNK_BYTES = 1 << 30
export const METADATA_KEY = '__metadata__'

export interface TensorInfo {
  name: string
  dtype: SafetensorsDtype
  shape: number[]
  byteLength: number
  /** The file that holds the bytes, and where they start in it (absolute, usable as ONNX external data). */
  file: string
  fileOffset: number
}

/** A set of named tensors read lazily: one file, or the shards of a sharded checkpoint. */
export interface Checkpoint {
  names(): string[]
  has(name: string): boolean
  info(name: string): TensorInfo
  /** Exactly the tensor's bytes, little-endian, in a buffer of their own (so typed views are aligned). */
  readBytes(name: string): Uint8Array
  readFloat32(name: string): Float32Array
  close(): void
}

export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, value)
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dim) => product * dim, 1)
}

export function isShape(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((dim) => Number.isSafeInteger(dim) && dim >= 0)
}

// ---------------------------------------------------------------------------------------------
// Reading one file
// ---------------------------------------------------------------------------------------------

interface HeaderEntry {
  name: string
  dtype: SafetensorsDtype
  shape: number[]
  begin: number
  end: number
}

export class SafetensorsFile implements Checkpoint {
  readonly path: string
  readonly metadata: Record<string, string>
  private fd: number | null
  private readonly dataStart: number
  private readonly entries: Map<string, HeaderEntry>

  private constructor(
    path: string,
    fd: number,
    dataStart: number,
    entries: Map<string, HeaderEntry>,
    metadata: Record<string, string>
  ) {
    this.path = path
    this.fd = fd
    this.dataStart = dataStart
    this.entries = entries
    this.metadata = metadata
  }

  /** Opens the file and validates its header; the file stays open until close(). */
  static open(path: string): SafetensorsFile {
    let fd: number
    try {
      fd = openSync(path, 'r')
    } catch (error) {
      throw new Error(`safetensors: cannot open ${path}: ${(error as Error).message}`)
    }
    try {
      const { dataStart, entries, metadata } = readHeader(path, fd)
      return new SafetensorsFile(path, fd, dataStart, entries, metadata)
    } catch (error) {
      closeSync(fd)
      throw error
    }
  }

  names(): string[] {
    return [...this.entries.keys()]
  }

  has(name: string): boolean {
    return this.entries.has(name)
  }

  info(name: string): TensorInfo {
    const entry = this.entry(name)
    return {
      name,
      dtype: entry.dtype,
      shape: [...entry.shape],
      byteLength: entry.end - entry.begin,
      file: this.path,
      fileOffset: this.dataStart + entry.begin
    }
  }

  readBytes(name: string): Uint8Array {
    const entry = this.entry(name)
    const fd = this.openFd()
    const length = entry.end - entry.begin
    // allocUnsafeSlow: an ArrayBuffer of its own at offset 0, so Float32Array/BigInt64Array views are aligned.
    const buffer = Buffer.allocUnsafeSlow(length)
    let done = 0
    while (done < length) {
      const want = Math.min(IO_CHUNK_BYTES, length - done)
      const got = readSync(fd, buffer, done, want, this.dataStart + entry.begin + done)
      if (got === 0) {
        throw new Error(
          `safetensors: ${this.path}: tensor "${name}": file ended after ${done} of ${length} bytes`
        )
      }
      done += got
    }
    return new Uint8Array(buffer.buffer, buffer.byteOffset, length)
  }

  readFloat32(name: string): Float32Array {
    const entry = this.entry(name)
    return bytesToFloat32(this.readBytes(name), entry.dtype)
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd)
    this.fd = null
  }

  private entry(name: string): HeaderEntry {
    const entry = this.entries.get(name)
    if (!entry) throw new Error(`safetensors: ${this.path}: no tensor named "${name}"`)
    return entry
  }

  private openFd(): number {
    if (this.fd === null) throw new Error(`safetensors: ${this.path} is closed`)
    return this.fd
  }
}

export function openSafetensors(path: string): SafetensorsFile {
  return SafetensorsFile.open(path)
}

function readHeader(
  path: string,
  fd: number
): { dataStart: number; entries: Map<string, HeaderEntry>; metadata: Record<string, string> } {
  const fail = (message: string): never => {
    throw new Error(`safetensors: ${path}: ${message}`)
  }
  const fileSize = fstatSync(fd).size
  if (fileSize < 8) fail(`file is ${fileSize} bytes, shorter than the 8-byte header length`)
  const lengthBytes = Buffer.alloc(8)
  readSync(fd, lengthBytes, 0, 8, 0)
  const headerLength = lengthBytes.readBigUInt64LE(0)
  if (headerLength > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLength} exceeds the 100 MB limit`)
  const headerBytes = Number(headerLength)
  if (8 + headerBytes > fileSize) {
    fail(`header length ${headerBytes} runs past the end of the ${fileSize}-byte file`)
  }
  const headerBuffer = Buffer.alloc(headerBytes)
  readSync(fd, headerBuffer, 0, headerBytes, 8)

  let header: unknown
  try {
    header = JSON.parse(headerBuffer.toString('utf8'))
  } catch (error) {
    fail(`header is not valid JSON: ${(error as Error).message}`)
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail('header is not a JSON object')
  }

  const dataStart = 8 + headerBytes
  const dataSize = fileSize - dataStart
  const entries = new Map<string, HeaderEntry>()
  let metadata: Record<string, string> = {}
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      metadata = parseMetadata(value, fail)
      continue
    }
    entries.set(name, parseEntry(name, value, dataSize, fail))
  }
  checkNoOverlap([...entries.values()], fail)
  return { dataStart, entries, metadata }
}

function parseMetadata(value: unknown, fail: (message: string) => never): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(`"${METADATA_KEY}" is not an object`)
  }
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (typeof item !== 'string') {
      fail(`"${METADATA_KEY}"."${key}" must be a string, got ${JSON.stringify(item)}`)
    }
  }
  return value as Record<string, string>
}

function parseEntry(
  name: string,
  value: unknown,
  dataSize: number,
  fail: (message: string) => never
): HeaderEntry {
  const where = `tensor "${name}"`
  if (typeof value !== 'object' || value === null) fail(`${where}: entry is not an object`)
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>
  if (!isSafetensorsDtype(dtype)) fail(`${where}: unsupported dtype ${JSON.stringify(dtype)}`)
  if (!isShape(shape)) {
    fail(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`)
  }
  if ((shape as number[]).length > MAX_TENSOR_RANK) {
    fail(
      `${where}: shape has ${(shape as number[]).length} dimensions, more than the ${MAX_TENSOR_RANK} allowed`
    )
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
  ) {
    fail(`${where}: data_offsets must be [begin, end], got ${JSON.stringify(offsets)}`)
  }
  const [begin, end] = offsets as [number, number]
  if (begin > end) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`)
  if (end > dataSize) {
    fail(`${where}: data_offsets [${begin}, ${end}] run past the ${dataSize}-byte data section`)
  }
  const dims = shape as number[]
  const expected = elementCount(dims) * DTYPE_BYTES[dtype as SafetensorsDtype]
  if (end - begin !== expected) {
    fail(
      `${where}: ${dtype} × [${dims.join(', ')}] needs ${expected} bytes, data_offsets give ${end - begin}`
    )
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: dims, begin, end }
}

function checkNoOverlap(entries: HeaderEntry[], fail: (message: string) => never): void {
  const sorted = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin)
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end) {
      fail(`tensors "${sorted[i - 1].name}" and "${sorted[i].name}" overlap in the data section`)
    }
  }
}

/** Converts a tensor's little-endian bytes (in a buffer of their own, offset aligned) to float32 values. */
export function bytesToFloat32(bytes: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  const count = bytes.byteLength / DTYPE_BYTES[dtype]
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice()
  const { buffer, byteOffset } = aligned
  switch (dtype) {
    case 'F32':
      return new Float32Array(buffer, byteOffset, count)
    case 'F16':
      return float16ArrayToFloat32(new Uint16Array(buffer, byteOffset, count))
    case 'BF16':
      return bfloat16ArrayToFloat32(new Uint16Array(buffer, byteOffset, count))
    case 'F64':
      return Float32Array.from(new Float64Array(buffer, byteOffset, count))
    case 'I64':
      return Float32Array.from(new BigInt64Array(buffer, byteOffset, count), (v) => Number(v))
    case 'I32':
      return Float32Array.from(new Int32Array(buffer, byteOffset, count))
    case 'I16':
      return Float32Array.from(new Int16Array(buffer, byteOffset, count))
    case 'I8':
      return Float32Array.from(new Int8Array(buffer, byteOffset, count))
    case 'U8':
    case 'BOOL':
      return Float32Array.from(new Uint8Array(buffer, byteOffset, count))
  }
}

// ---------------------------------------------------------------------------------------------
// Sharded checkpoints and folders
// ---------------------------------------------------------------------------------------------

export const SINGLE_FILE_NAME = 'model.safetensors'
export const SHARD_INDEX_NAME = 'model.safetensors.index.json'

/** Shards listed by `model.safetensors.index.json`, seen as one set of tensors. */
class ShardedCheckpoint implements Checkpoint {
  constructor(
    private readonly indexPath: string,
    private readonly weightMap: Map<string, SafetensorsFile>,
    private readonly shards: SafetensorsFile[]
  ) {}

  names(): string[] {
    return [...this.weightMap.keys()]
  }

  has(name: string): boolean {
    return this.weightMap.has(name)
  }

  info(name: string): TensorInfo {
    return this.shard(name).info(name)
  }

  readBytes(name: string): Uint8Array {
    return this.shard(name).readBytes(name)
  }

  readFloat32(name: string): Float32Array {
    return this.shard(name).readFloat32(name)
  }

  close(): void {
    for (const shard of this.shards) shard.close()
  }

  private shard(name: string): SafetensorsFile {
    const shard = this.weightMap.get(name)
    if (!shard) throw new Error(`safetensors: ${this.indexPath}: weight_map has no tensor named "${name}"`)
    return shard
  }
}

export function openShardedCheckpoint(indexPath: string): Checkpoint {
  const fail = (message: string): never => {
    throw new Error(`safetensors: ${indexPath}: ${message}`)
  }
  let index: unknown
  try {
    const bytes = statSync(indexPath).size
    if (bytes > MAX_SHARD_INDEX_BYTES) {
      throw new Error(`the file is ${bytes} bytes, more than the ${MAX_SHARD_INDEX_BYTES} an index may have`)
    }
    index = JSON.parse(readFileSync(indexPath, 'utf8'))
  } catch (error) {
    fail(`cannot read the shard index: ${(error as Error).message}`)
  }
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    fail('"weight_map" must be an object mapping tensor names to shard files')
  }
  const folder = dirname(indexPath)
  const shardsByFile = new Map<string, SafetensorsFile>()
  const map = new Map<string, SafetensorsFile>()
  try {
    for (const [name, file] of Object.entries(weightMap as Record<string, unknown>)) {
      if (typeof file !== 'string' || isAbsolute(file) || normalize(file).startsWith('..')) {
        fail(`weight_map maps "${name}" to ${JSON.stringify(file)}, not a file inside ${folder}`)
      }
      const shardFile = file as string
      let shard = shardsByFile.get(shardFile)
      if (!shard) {
        shard = SafetensorsFile.open(join(folder, shardFile))
        shardsByFile.set(shardFile, shard)
      }
      if (!shard.has(name)) fail(`weight_map maps "${name}" to ${shardFile}, which has no such tensor`)
      map.set(name, shard)
    }
  } catch (error) {
    for (const shard of shardsByFile.values()) shard.close()
    throw error
  }
  return new ShardedCheckpoint(indexPath, map, [...shardsByFile.values()])
}

/**
 * Opens a model's weights: a `.safetensors` file, or a folder holding `model.safetensors` or a
 * sharded `model.safetensors.index.json`. Only headers are read; close() releases the files.
 */
export function openCheckpoint(path: string): Checkpoint {
  if (path.endsWith('.safetensors')) return SafetensorsFile.open(path)
  if (path.endsWith('.index.json')) return openShardedCheckpoint(path)
  const index = join(path, SHARD_INDEX_NAME)
  if (existsSync(index)) return openShardedCheckpoint(index)
  const single = join(path, SINGLE_FILE_NAME)
  if (existsSync(single)) return SafetensorsFile.open(single)
  throw new Error(`openCheckpoint: ${path} has neither ${SINGLE_FILE_NAME} nor ${SHARD_INDEX_NAME}`)
}

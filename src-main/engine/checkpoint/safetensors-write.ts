/**
 * Writing safetensors files (the layout is described in safetensors.ts): values are converted to
 * the tensor's dtype on the way out and the file is replaced atomically, so a reader never sees
 * half of one.
 */
import { writeSync } from 'node:fs'
import { replaceFileAtomically } from './atomic-write'
import { float32ArrayToBfloat16, float32ArrayToFloat16 } from './half-float'
import {
  DTYPE_BYTES,
  elementCount,
  IO_CHUNK_BYTES,
  isSafetensorsDtype,
  isShape,
  METADATA_KEY,
  type SafetensorsDtype
} from './safetensors'

/**
 * A tensor to write. `data` is either the raw little-endian bytes (a Uint8Array of exactly
 * dtype × shape bytes, for any dtype) or the values, converted to `dtype` on the way out
 * (float dtypes round to nearest even; integer dtypes must receive integers in range).
 */
export interface TensorToWrite {
  name: string
  dtype: SafetensorsDtype
  shape: readonly number[]
  data: Uint8Array | Float32Array | Float64Array | Int32Array | BigInt64Array | readonly number[]
}

const INTEGER_RANGES: Partial<Record<SafetensorsDtype, [number, number]>> = {
  I32: [-(2 ** 31), 2 ** 31 - 1],
  I16: [-(2 ** 15), 2 ** 15 - 1],
  I8: [-128, 127],
  U8: [0, 255],
  BOOL: [0, 1]
}

function encodeTensor(tensor: TensorToWrite, where: string): Uint8Array {
  const { dtype, shape, data } = tensor
  const byteLength = elementCount(shape) * DTYPE_BYTES[dtype]
  if (data instanceof Uint8Array) {
    if (data.byteLength !== byteLength) {
      throw new Error(
        `${where}: ${dtype} × [${shape.join(', ')}] needs ${byteLength} bytes, got ${data.byteLength}`
      )
    }
    return data
  }
  const count = elementCount(shape)
  if (data.length !== count) {
    throw new Error(`${where}: shape [${shape.join(', ')}] holds ${count} values, got ${data.length}`)
  }
  const asBytes = (view: ArrayBufferView): Uint8Array =>
    new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
  switch (dtype) {
    case 'F32':
      return asBytes(
        data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>, Number)
      )
    case 'F64':
      return asBytes(Float64Array.from(data as ArrayLike<number>, Number))
    case 'F16':
      return asBytes(float32ArrayToFloat16(Float32Array.from(data as ArrayLike<number>, Number)))
    case 'BF16':
      return asBytes(float32ArrayToBfloat16(Float32Array.from(data as ArrayLike<number>, Number)))
    case 'I64':
      return asBytes(
        data instanceof BigInt64Array
          ? data
          : BigInt64Array.from(data as ArrayLike<number>, (v, i) => toBigInt(v, i, where))
      )
    default: {
      const [min, max] = INTEGER_RANGES[dtype] as [number, number]
      for (let i = 0; i < count; i++) {
        const v = Number(data[i])
        if (!Number.isInteger(v) || v < min || v > max) {
          throw new Error(
            `${where}: value ${data[i]} at index ${i} is not a ${dtype} integer in [${min}, ${max}]`
          )
        }
      }
      const values = data as ArrayLike<number>
      if (dtype === 'I32') return asBytes(Int32Array.from(values))
      if (dtype === 'I16') return asBytes(Int16Array.from(values))
      if (dtype === 'I8') return asBytes(Int8Array.from(values))
      return Uint8Array.from(values)
    }
  }
}

function toBigInt(value: number, index: number, where: string): bigint {
  if (!Number.isSafeInteger(value)) {
    throw new Error(`${where}: value ${value} at index ${index} is not an I64 integer`)
  }
  return BigInt(value)
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0
  while (done < bytes.byteLength) {
    done += writeSync(fd, bytes, done, Math.min(IO_CHUNK_BYTES, bytes.byteLength - done))
  }
}

/**
 * Writes a safetensors file atomically: into a temporary file beside `path`, flushed, then renamed
 * over it, so a reader never sees half a file. Tensors are laid out in the order given; the header
 * is padded with spaces so the data section starts on an 8-byte boundary.
 */
export function writeSafetensors(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata?: Record<string, string>
): void {
  const where = (name: string): string => `writeSafetensors: ${path}: tensor "${name}"`
  // No prototype: a tensor named "__proto__" must stay an ordinary key.
  const header: Record<string, unknown> = Object.create(null)
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') {
        throw new Error(`writeSafetensors: ${path}: metadata "${key}" must be a string`)
      }
    }
    header[METADATA_KEY] = metadata
  }
  let offset = 0
  for (const tensor of tensors) {
    if (tensor.name === METADATA_KEY) {
      throw new Error(`${where(tensor.name)}: the name is reserved for metadata`)
    }
    if (Object.prototype.hasOwnProperty.call(header, tensor.name)) {
      throw new Error(`${where(tensor.name)}: written twice`)
    }
    if (!isSafetensorsDtype(tensor.dtype)) {
      throw new Error(`${where(tensor.name)}: unsupported dtype ${tensor.dtype}`)
    }
    if (!isShape(tensor.shape)) {
      throw new Error(
        `${where(tensor.name)}: shape must be non-negative integers, got [${tensor.shape.join(', ')}]`
      )
    }
    const byteLength = elementCount(tensor.shape) * DTYPE_BYTES[tensor.dtype]
    header[tensor.name] = {
      dtype: tensor.dtype,
      shape: [...tensor.shape],
      data_offsets: [offset, offset + byteLength]
    }
    offset += byteLength
  }
  const json = JSON.stringify(header)
  const jsonBytes = Buffer.byteLength(json, 'utf8')
  const paddedLength = Math.ceil(jsonBytes / 8) * 8
  const headerBuffer = Buffer.alloc(8 + paddedLength, 0x20)
  headerBuffer.writeBigUInt64LE(BigInt(paddedLength), 0)
  headerBuffer.write(json, 8, 'utf8')

  replaceFileAtomically(path, (fd) => {
    writeAll(fd, headerBuffer)
    for (const tensor of tensors) writeAll(fd, encodeTensor(tensor, where(tensor.name)))
  })
}

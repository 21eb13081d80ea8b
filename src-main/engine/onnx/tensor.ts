/**
 * Tensor values as ONNX stores them: dims + dtype + little-endian bytes, either inline (raw_data)
 * or in an external data file next to the model.
 */
import { endianness } from 'node:os'
import {
  BYTES_PER_ELEMENT,
  type AnyTypedArray,
  type DType,
  type TypedArrayFor,
  assertTypedArrayFor,
  typedArrayFromNumbers
} from './dtype'

// raw_data is little-endian by spec; we hand typed arrays over without byte swapping.
if (endianness() !== 'LE') throw new Error('engine/onnx: big-endian hosts are not supported')

/** Where a tensor's bytes live. */
export type TensorData =
  | { readonly kind: 'raw'; readonly bytes: Uint8Array }
  /** `location` is relative to the model's folder (onnxruntime refuses paths outside it). */
  | { readonly kind: 'external'; readonly location: string; readonly offset: number; readonly length: number }

export interface OnnxTensor {
  readonly name: string
  readonly dtype: DType
  readonly dims: readonly number[]
  readonly data: TensorData
}

export function numelOf(dims: readonly number[]): number {
  let n = 1
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0)
      throw new Error(`numelOf: invalid dimension ${d} in [${dims.join(', ')}]`)
    n *= d
  }
  return n
}

/** The bytes of a typed array as a view (no copy). */
export function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}

/**
 * An inline tensor over `data` without copying it: the caller must not change `data` until the
 * model has been encoded or saved.
 */
export function tensorFromTypedArray<D extends DType>(
  name: string,
  dtype: D,
  dims: readonly number[],
  data: TypedArrayFor[D]
): OnnxTensor {
  assertTypedArrayFor(dtype, data, `tensor "${name}"`)
  const expected = numelOf(dims)
  if (data.length !== expected) {
    throw new Error(
      `tensor "${name}": dims [${dims.join(', ')}] need ${expected} elements, got ${data.length}`
    )
  }
  return { name, dtype, dims: [...dims], data: { kind: 'raw', bytes: bytesOf(data) } }
}

/** An inline tensor from JS numbers (copied into a typed array of `dtype`). */
export function tensorFromNumbers(
  name: string,
  dtype: DType,
  dims: readonly number[],
  values: ArrayLike<number>
): OnnxTensor {
  return tensorFromTypedArray(name, dtype, dims, typedArrayFromNumbers(dtype, values))
}

/** A tensor whose bytes already sit in a file inside the model's folder. */
export function externalTensor(
  name: string,
  dtype: DType,
  dims: readonly number[],
  ref: { location: string; offset: number; length?: number }
): OnnxTensor {
  const length = numelOf(dims) * BYTES_PER_ELEMENT[dtype]
  if (ref.length !== undefined && ref.length !== length) {
    throw new Error(
      `externalTensor "${name}": length ${ref.length} does not match dims/dtype (${length} bytes)`
    )
  }
  assertLocationInsideModelFolder(ref.location, `externalTensor "${name}"`)
  if (!Number.isSafeInteger(ref.offset) || ref.offset < 0) {
    throw new Error(`externalTensor "${name}": invalid offset ${ref.offset}`)
  }
  return {
    name,
    dtype,
    dims: [...dims],
    data: { kind: 'external', location: ref.location, offset: ref.offset, length }
  }
}

/** onnxruntime-node only loads external data from the model's own folder (and below). */
export function assertLocationInsideModelFolder(location: string, where: string): void {
  const segments = location.split(/[\\/]/)
  if (location === '' || location.startsWith('/') || /^[A-Za-z]:/.test(location) || segments.includes('..')) {
    throw new Error(
      `${where}: external data location "${location}" must be a relative path inside the model folder`
    )
  }
}

export type { AnyTypedArray }

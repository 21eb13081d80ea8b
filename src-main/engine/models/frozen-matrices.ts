/**
 * A frozen matrix [rows, cols] in the form its base precision stores it (base-precision.ts), and its
 * decoding in a graph back to float32.
 *
 * The block formats are GGUF's Q8_0 and Q4_0 (export/gguf-quant.ts encodes both for the GGUF export
 * too), split for the graph into two tensors: the blocks' float16 scales [rows, blocks] and their
 * values [rows, blocks, 32] int8 (Q8_0) or [rows, blocks, 16] uint8 (Q4_0, each value stored as
 * q + 8). One change to Q4_0: its byte j holds values j and j + 16 of a block; here it holds values
 * 2j and 2j + 1 (low nibble first), so decoding looks up both nibbles of a byte at once and has
 * them in order, with no Transpose: the decoding of a large matrix (a Qwen LM head is 136 M values)
 * then holds fewer float32 copies at once. The values are permuted before GGUF's encoder and back
 * after its decoder. A row whose length is not a multiple of 32 is padded with zeros to whole
 * blocks; decoding drops the padding.
 *
 * Decoding uses only opset-18 ops with CPU and CUDA kernels (Cast, Gather, Mul, Reshape, Slice): a
 * value is (q − 8)·d computed exactly as ggml's reference dequantizer does, so a decoded matrix
 * equals decodeTensor's (of the permuted values) bit for bit.
 */
import {
  bfloat16ArrayToFloat32,
  float16ArrayToFloat32,
  float32ArrayToBfloat16,
  float32ArrayToFloat16
} from '../checkpoint/half-float'
import { decodeTensor, encodeTensor } from '../export/gguf-quant'
import { cast, gather, mul, reshape, slice, unsqueeze, type Tensor } from '../graph/index'
import type { DType, TypedArrayFor } from '../onnx/dtype'
import type { BasePrecision } from './base-precision'

const BLOCK = 32

/** Bump when the stored layout of a non-fp32 precision changes: converted weights are then redone. */
export const STORED_LAYOUT = 2

/** One stored tensor of a frozen matrix. */
export interface StoredPart<D extends DType = DType> {
  dtype: D
  dims: number[]
  data: TypedArrayFor[D]
}

/** How a matrix is stored: float32 as it is, or the parts its precision decodes from. */
export interface StoredMatrix {
  precision: BasePrecision
  rows: number
  cols: number
  /** fp32/fp16/bf16: [values]; int8/int4: [scales, values]. */
  parts: StoredPart[]
}

/** `values` (row-major [rows, cols]) in `precision`'s storage. */
export function encodeFrozenMatrix(
  precision: BasePrecision,
  values: Float32Array,
  rows: number,
  cols: number
): StoredMatrix {
  const matrix = { precision, rows, cols }
  switch (precision) {
    case 'fp32':
      return { ...matrix, parts: [{ dtype: 'float32', dims: [rows, cols], data: values }] }
    case 'fp16':
      return {
        ...matrix,
        parts: [{ dtype: 'float16', dims: [rows, cols], data: float32ArrayToFloat16(values) }]
      }
    case 'bf16':
      return {
        ...matrix,
        parts: [{ dtype: 'bfloat16', dims: [rows, cols], data: float32ArrayToBfloat16(values) }]
      }
    case 'int8':
    case 'int4':
      return { ...matrix, parts: encodeBlocks(precision, values, rows, cols) }
  }
}

/** The float32 values a stored matrix decodes to (what the graph computes with), for checks. */
export function decodeFrozenMatrix(matrix: StoredMatrix): Float32Array {
  const [first] = matrix.parts
  if (matrix.precision === 'fp32') return first.data as Float32Array
  if (matrix.precision === 'fp16') return float16ArrayToFloat32(first.data as Uint16Array)
  if (matrix.precision === 'bf16') return bfloat16ArrayToFloat32(first.data as Uint16Array)
  const padded = decodeTensor(matrix.precision === 'int8' ? 'Q8_0' : 'Q4_0', joinBlocks(matrix))
  return unpadRows(
    matrix.precision === 'int4' ? pairNibbles(padded, 'back') : padded,
    matrix.rows,
    matrix.cols
  )
}

/** Bytes per block after its 2-byte scale. */
function blockValueBytes(precision: 'int8' | 'int4'): number {
  return precision === 'int8' ? BLOCK : BLOCK / 2
}

function encodeBlocks(
  precision: 'int8' | 'int4',
  values: Float32Array,
  rows: number,
  cols: number
): StoredPart[] {
  const blocks = Math.ceil(cols / BLOCK)
  const padded = padRows(values, rows, cols, blocks * BLOCK)
  const encoded =
    precision === 'int8' ? encodeTensor('Q8_0', padded) : encodeTensor('Q4_0', pairNibbles(padded, 'to'))
  const valueBytes = blockValueBytes(precision)
  const scales = new Uint16Array(rows * blocks)
  const quants = new Uint8Array(rows * blocks * valueBytes)
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength)
  for (let b = 0; b < rows * blocks; b++) {
    const at = b * (2 + valueBytes)
    scales[b] = view.getUint16(at, true)
    quants.set(encoded.subarray(at + 2, at + 2 + valueBytes), b * valueBytes)
  }
  const valuePart: StoredPart =
    precision === 'int8'
      ? { dtype: 'int8', dims: [rows, blocks, valueBytes], data: new Int8Array(quants.buffer) }
      : { dtype: 'uint8', dims: [rows, blocks, valueBytes], data: quants }
  return [{ dtype: 'float16', dims: [rows, blocks], data: scales }, valuePart]
}

/** The GGUF block stream of a block-stored matrix (scale, then values, per block). */
function joinBlocks(matrix: StoredMatrix): Uint8Array {
  const [scales, values] = matrix.parts
  const valueBytes = blockValueBytes(matrix.precision as 'int8' | 'int4')
  const count = scales.data.length
  const out = new Uint8Array(count * (2 + valueBytes))
  const view = new DataView(out.buffer)
  const bytes = new Uint8Array(values.data.buffer, values.data.byteOffset, values.data.byteLength)
  for (let b = 0; b < count; b++) {
    const at = b * (2 + valueBytes)
    view.setUint16(at, (scales.data as Uint16Array)[b], true)
    out.set(bytes.subarray(b * valueBytes, (b + 1) * valueBytes), at + 2)
  }
  return out
}

function padRows(values: Float32Array, rows: number, cols: number, width: number): Float32Array {
  if (width === cols) return values
  const out = new Float32Array(rows * width)
  for (let r = 0; r < rows; r++) out.set(values.subarray(r * cols, (r + 1) * cols), r * width)
  return out
}

function unpadRows(values: Float32Array, rows: number, cols: number): Float32Array {
  const width = values.length / rows
  if (width === cols) return values
  const out = new Float32Array(rows * cols)
  for (let r = 0; r < rows; r++) out.set(values.subarray(r * width, r * width + cols), r * cols)
  return out
}

/**
 * The graph's float32 [rows, cols] of a stored matrix whose parts are the graph tensors `parts`
 * (initializers), or, with `ids`, only the rows `ids` selects ([...ids.shape, cols], an embedding
 * lookup that decodes just those rows).
 */
export function decodeInGraph(
  matrix: Pick<StoredMatrix, 'precision' | 'cols'>,
  parts: readonly Tensor[],
  ids?: Tensor
): Tensor {
  const pick = (t: Tensor) => (ids ? gather(t, ids) : t)
  const [first, second] = parts
  switch (matrix.precision) {
    case 'fp32':
      return pick(first)
    case 'fp16':
    case 'bf16':
      return cast(pick(first), 'float32')
    case 'int8':
    case 'int4': {
      const scales = cast(pick(first), 'float32') // (..., blocks)
      const values = matrix.precision === 'int8' ? cast(pick(second), 'float32') : nibbles(pick(second))
      const blocks = mul(values, unsqueeze(scales, [-1])) // (..., blocks, 32)
      const rank = blocks.rank!
      const rows = reshape(blocks, [...new Array<number>(rank - 2).fill(0), -1]) // (..., blocks·32)
      const width = rows.shape![rank - 2]
      return width === matrix.cols ? rows : slice(rows, [0], [matrix.cols], [-1])
    }
  }
}

/**
 * Blocks of 32 values in Q4_0's nibble order (value j and j + 16 share byte j) 'to' and 'back' from
 * ours (values 2j and 2j + 1 share byte j).
 */
function pairNibbles(values: Float32Array, direction: 'to' | 'back'): Float32Array {
  const out = new Float32Array(values.length)
  for (let block = 0; block < values.length; block += BLOCK) {
    for (let j = 0; j < BLOCK / 2; j++) {
      const [low, high] = [block + 2 * j, block + 2 * j + 1]
      const [first, second] = [block + j, block + BLOCK / 2 + j]
      if (direction === 'to') {
        out[first] = values[low]
        out[second] = values[high]
      } else {
        out[low] = values[first]
        out[high] = values[second]
      }
    }
  }
  return out
}

/** int4 bytes (..., 16) → their 32 values q − 8 as float32 (..., 32): both nibbles of a byte by one lookup. */
function nibbles(bytes: Tensor): Tensor {
  const pairs = gather(bytes.graph.constant('float32', [256, 2], NIBBLE_TABLE), cast(bytes, 'int32')) // (..., 16, 2)
  return reshape(pairs, [...new Array<number>(pairs.rank! - 2).fill(0), -1]) // (..., 32)
}

/** Byte b → [(b & 15) − 8, (b >> 4) − 8]. */
const NIBBLE_TABLE = Float32Array.from(
  { length: 512 },
  (_, i) => (i % 2 === 0 ? (i >> 1) & 15 : (i >> 1) >> 4) - 8
)

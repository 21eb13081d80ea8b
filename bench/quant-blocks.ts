/**
 * A frozen weight's GGUF Q4_0/Q8_0 blocks (gguf-quant.ts's encodeTensor) rearranged into the
 * layouts the paths of bench/quant-matmul-graphs.ts store: split scales and values for the
 * engine's decode, packed int4 for DequantizeLinear, MatMulNBits' blobs, and a second copy
 * blocked along the other axis for products that need their blocks along the reduction axis.
 */
import { float16ArrayToFloat32 } from '../src-main/engine/checkpoint/half-float'
import { decodeTensor, encodeTensor } from '../src-main/engine/export/gguf-quant'

/** Values per block in both formats. */
export const BLOCK = 32

/** Q4_0/Q8_0 blocks of a [out, in] weight split in two arrays: per-block scales and values. */
export interface SplitBlocks {
  type: 'Q4_0' | 'Q8_0'
  out: number
  in: number
  /** float16 bits [out, in/32]. */
  scales: Uint16Array
  /** Q4_0: the 16 packed bytes of each block [out, in/32, 16]; Q8_0: int8 bytes [out, in/32, 32]. */
  values: Uint8Array
  /** What decodeTensor gives for the same blocks. */
  decoded: Float32Array
}

export function splitBlocks(
  type: 'Q4_0' | 'Q8_0',
  weight: Float32Array,
  out: number,
  inner: number
): SplitBlocks {
  const encoded = encodeTensor(type, weight)
  const blocks = (out * inner) / BLOCK
  const valueBytes = type === 'Q4_0' ? 16 : 32
  const blockBytes = 2 + valueBytes
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength)
  const scales = new Uint16Array(blocks)
  const values = new Uint8Array(blocks * valueBytes)
  for (let b = 0; b < blocks; b++) {
    scales[b] = view.getUint16(b * blockBytes, true)
    values.set(encoded.subarray(b * blockBytes + 2, (b + 1) * blockBytes), b * valueBytes)
  }
  return { type, out, in: inner, scales, values, decoded: decodeTensor(type, encoded) }
}

/** Q4_0 codes in row order as ONNX int4: q − 8 in two's complement. */
export function packSignedInt4(blocks: SplitBlocks): Uint8Array {
  return packNibbles(q4Codes(blocks), 8)
}

/**
 * Two 4-bit values a byte, element 2i in byte i's low nibble (ONNX's int4/uint4 and MatMulNBits'
 * blobs alike), each value less `offset` and kept to its low 4 bits.
 */
export function packNibbles(codes: Uint8Array, offset: number): Uint8Array {
  const packed = new Uint8Array(codes.length / 2)
  for (let i = 0; i < packed.length; i++)
    packed[i] = ((codes[2 * i] - offset) & 15) | (((codes[2 * i + 1] - offset) & 15) << 4)
  return packed
}

/** The 4-bit codes 0–15 of Q4_0 blocks in row order (byte j holds value j low, value j + 16 high). */
export function q4Codes(blocks: SplitBlocks): Uint8Array {
  const codes = new Uint8Array(blocks.values.length * 2)
  for (let b = 0; b < blocks.values.length / 16; b++) {
    for (let j = 0; j < 16; j++) {
      const byte = blocks.values[b * 16 + j]
      codes[b * 32 + j] = byte & 15
      codes[b * 32 + 16 + j] = byte >> 4
    }
  }
  return codes
}

export function widenScales(blocks: SplitBlocks): Float32Array {
  return float16ArrayToFloat32(blocks.scales)
}

/**
 * MatMulNBits' B [N, nb, blob] for a weight [N, K] in blocks along K: 4-bit codes packed low-first
 * (element 2i low, 2i + 1 high) with the default zero point 8, so Q4_0's codes carry over; 8-bit
 * codes are the int8 value + 128 (default zero point 128).
 */
export function matMulNBitsBlob(blocks: SplitBlocks): Uint8Array {
  if (blocks.type === 'Q8_0') return blocks.values.map((byte) => byte ^ 0x80)
  return packNibbles(q4Codes(blocks), 0)
}

/** A weight quantized twice, each copy in blocks along the reduction axis of one direction. */
export interface BothWays {
  /** W [out, in] in blocks along in. */
  forward: SplitBlocks
  /** Wᵀ [in, out] in blocks along out. */
  transposed: SplitBlocks
  /** `transposed` decoded and turned back to [out, in]. */
  backwardWeight: Float32Array
}

export function quantizeBothWays(
  type: 'Q4_0' | 'Q8_0',
  weight: Float32Array,
  out: number,
  inner: number
): BothWays {
  const transposed = splitBlocks(type, transpose(weight, out, inner), inner, out)
  return {
    forward: splitBlocks(type, weight, out, inner),
    transposed,
    backwardWeight: transpose(transposed.decoded, inner, out)
  }
}

/** [rows, cols] → [cols, rows]. */
export function transpose<T extends Float32Array | Uint8Array>(m: T, rows: number, cols: number): T {
  const t = m.slice() as T
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c]
  return t
}

/**
 * ggml's tensor encodings that the GGUF export writes, from the block formats' definitions
 * (ggml-common.h's block structs, ggml-quants.c's reference quantizers, described in words):
 *
 *   F32   4 bytes per value;  F16  IEEE binary16 per value
 *   Q8_0  blocks of 32 values: f16 scale d = max|x| / 127, then 32 int8 q = round(x / d)
 *   Q4_0  blocks of 32 values: f16 scale d = m / −8 where m is the value of largest magnitude (with
 *         its sign), then 16 bytes of 4-bit q = min(15, ⌊x / d + 8.5⌋); byte j holds value j in its
 *         low nibble and value j + 16 in its high nibble; x ≈ (q − 8)·d
 *   Q4_K, Q6_K  super-blocks of 256 values (gguf-kquant.ts)
 *
 * Blocks run along a row (the fastest-varying dimension), so a row's length must be a multiple of
 * the block size; gguf-model.ts stores a tensor whose rows are not in a finer type.
 */
import { float16ToFloat32, float32ArrayToFloat16, float32ToFloat16 } from '../checkpoint/half-float'
import {
  dequantizeQ4_KBlock,
  dequantizeQ6_KBlock,
  Q4_K_BYTES,
  Q6_K_BYTES,
  quantizeQ4_KBlock,
  quantizeQ6_KBlock
} from './gguf-kquant'

/** ggml_type codes (ggml.h). */
export const GGML_TYPE = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8, Q4_K: 12, Q6_K: 14 } as const
export type GgmlTypeName = keyof typeof GGML_TYPE

interface BlockFormat {
  /** Values per block. */
  blockSize: number
  /** Bytes per block. */
  blockBytes: number
}

const BLOCK_FORMATS: Record<GgmlTypeName, BlockFormat> = {
  F32: { blockSize: 1, blockBytes: 4 },
  F16: { blockSize: 1, blockBytes: 2 },
  Q8_0: { blockSize: 32, blockBytes: 2 + 32 },
  Q4_0: { blockSize: 32, blockBytes: 2 + 16 },
  Q4_K: { blockSize: 256, blockBytes: Q4_K_BYTES },
  Q6_K: { blockSize: 256, blockBytes: Q6_K_BYTES }
}

export function blockSize(type: GgmlTypeName): number {
  return BLOCK_FORMATS[type].blockSize
}

/** Bytes of `count` values in `type`; `count` must be whole blocks. */
export function encodedByteLength(type: GgmlTypeName, count: number): number {
  const { blockSize: size, blockBytes } = BLOCK_FORMATS[type]
  if (count % size !== 0) throw new Error(`gguf: ${count} values are not whole ${type} blocks of ${size}`)
  return (count / size) * blockBytes
}

/** `values` (rows laid end to end, each a multiple of the block size) encoded as `type`. */
export function encodeTensor(type: GgmlTypeName, values: Float32Array): Uint8Array {
  switch (type) {
    case 'F32':
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
    case 'F16': {
      const half = float32ArrayToFloat16(values)
      return new Uint8Array(half.buffer, half.byteOffset, half.byteLength)
    }
    case 'Q8_0':
      return quantizeBlocks(values, 'Q8_0', quantizeQ8_0Block)
    case 'Q4_0':
      return quantizeBlocks(values, 'Q4_0', quantizeQ4_0Block)
    case 'Q4_K':
      return quantizeBlocks(values, 'Q4_K', quantizeQ4_KBlock)
    case 'Q6_K':
      return quantizeBlocks(values, 'Q6_K', quantizeQ6_KBlock)
  }
}

type BlockQuantizer = (values: Float32Array, start: number, out: DataView, at: number) => void

function quantizeBlocks(values: Float32Array, type: GgmlTypeName, quantize: BlockQuantizer): Uint8Array {
  const { blockSize: size, blockBytes } = BLOCK_FORMATS[type]
  const out = new Uint8Array(encodedByteLength(type, values.length))
  const view = new DataView(out.buffer)
  for (let block = 0; block * size < values.length; block++) {
    quantize(values, block * size, view, block * blockBytes)
  }
  return out
}

/** C's roundf: halves away from zero (Math.round rounds them up). */
function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x))
}

function quantizeQ8_0Block(values: Float32Array, start: number, out: DataView, at: number): void {
  let amax = 0
  for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(values[start + j]))
  const d = Math.fround(amax / 127)
  const inverse = d ? 1 / d : 0
  out.setUint16(at, float32ToFloat16(d), true)
  for (let j = 0; j < 32; j++)
    out.setInt8(at + 2 + j, roundHalfAway(Math.fround(values[start + j] * inverse)))
}

function quantizeQ4_0Block(values: Float32Array, start: number, out: DataView, at: number): void {
  let amax = 0
  let signedMax = 0
  for (let j = 0; j < 32; j++) {
    const v = values[start + j]
    if (Math.abs(v) > amax) {
      amax = Math.abs(v)
      signedMax = v
    }
  }
  const d = Math.fround(signedMax / -8)
  const inverse = d ? 1 / d : 0
  out.setUint16(at, float32ToFloat16(d), true)
  // x / d lies in [−8, 8], so x / d + 8.5 ≥ 0.5 and truncation is the floor.
  const nibble = (v: number): number => Math.min(15, Math.floor(Math.fround(v * inverse) + 8.5))
  for (let j = 0; j < 16; j++) {
    out.setUint8(at + 2 + j, nibble(values[start + j]) | (nibble(values[start + 16 + j]) << 4))
  }
}

/** Decodes `bytes` of `type` back to float32: what llama.cpp computes with, for tests and checks. */
export function decodeTensor(type: GgmlTypeName, bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const { blockSize: size, blockBytes } = BLOCK_FORMATS[type]
  const blocks = bytes.byteLength / blockBytes
  const out = new Float32Array(blocks * size)
  for (let b = 0; b < blocks; b++) {
    const at = b * blockBytes
    if (type === 'F32') out[b] = view.getFloat32(at, true)
    else if (type === 'F16') out[b] = halfAt(view, at)
    else if (type === 'Q8_0') {
      const d = halfAt(view, at)
      for (let j = 0; j < 32; j++) out[b * 32 + j] = view.getInt8(at + 2 + j) * d
    } else if (type === 'Q4_0') {
      const d = halfAt(view, at)
      for (let j = 0; j < 16; j++) {
        const byte = view.getUint8(at + 2 + j)
        out[b * 32 + j] = ((byte & 15) - 8) * d
        out[b * 32 + 16 + j] = ((byte >> 4) - 8) * d
      }
    } else if (type === 'Q4_K') dequantizeQ4_KBlock(view, at, out, b * size)
    else dequantizeQ6_KBlock(view, at, out, b * size)
  }
  return out
}

function halfAt(view: DataView, at: number): number {
  return float16ToFloat32(view.getUint16(at, true))
}

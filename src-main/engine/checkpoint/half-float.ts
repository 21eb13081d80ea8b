/**
 * IEEE 754 binary16 (F16) and bfloat16 (BF16) ⇄ float32, bit by bit. Checkpoints store weights in
 * both; the engine computes in float32. Encoding rounds to nearest, ties to even, like PyTorch's
 * `.to(torch.float16)` / `.to(torch.bfloat16)`.
 */

const f32Scratch = new Float32Array(1)
const u32Scratch = new Uint32Array(f32Scratch.buffer)

let f16Table: Float32Array | null = null

/** All 65,536 binary16 values decoded once: decoding a tensor is then one table lookup per element. */
function float16Table(): Float32Array {
  if (f16Table) return f16Table
  const table = new Float32Array(65536)
  for (let bits = 0; bits < 65536; bits++) table[bits] = decodeFloat16Bits(bits)
  f16Table = table
  return table
}

function decodeFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >> 10) & 0x1f
  const mantissa = bits & 0x3ff
  if (exponent === 0) return sign * mantissa * 2 ** -24 // zero and subnormals: 0.mantissa × 2^-14
  if (exponent === 31) return mantissa ? NaN : sign * Infinity
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15)
}

export function float16ToFloat32(bits: number): number {
  return float16Table()[bits & 0xffff]
}

export function float16ArrayToFloat32(bits: Uint16Array): Float32Array {
  const table = float16Table()
  const out = new Float32Array(bits.length)
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]]
  return out
}

/** float32 → binary16 bits, round to nearest even; overflow gives ±Infinity, underflow ±0 or a subnormal. */
export function float32ToFloat16(value: number): number {
  f32Scratch[0] = value
  const x = u32Scratch[0]
  const sign = (x >>> 16) & 0x8000
  const exponent = (x >>> 23) & 0xff
  const mantissa = x & 0x7fffff
  // NaN stays a (quiet) NaN, keeping the top payload bits; Infinity stays Infinity.
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 | (mantissa >>> 13) : 0)
  const halfExponent = exponent - 127 + 15
  if (halfExponent >= 31) return sign | 0x7c00
  if (halfExponent <= 0) {
    // Subnormal result: shift the 24-bit significand (implicit 1 included) right to units of 2^-24.
    const shift = 14 - halfExponent
    if (shift > 24) return sign // below half the smallest subnormal
    const significand = mantissa | 0x800000
    let result = significand >>> shift
    const remainder = significand & ((1 << shift) - 1)
    const halfway = 1 << (shift - 1)
    if (remainder > halfway || (remainder === halfway && result & 1)) result++
    return sign | result // a carry into bit 10 is exactly the smallest normal number
  }
  let result = (halfExponent << 10) | (mantissa >>> 13)
  const remainder = mantissa & 0x1fff
  if (remainder > 0x1000 || (remainder === 0x1000 && result & 1)) result++ // a carry may reach Infinity: correct
  return sign | result
}

export function float32ArrayToFloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length)
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16(values[i])
  return out
}

/** bfloat16 is the top half of a float32, so decoding is a shift. */
export function bfloat16ArrayToFloat32(bits: Uint16Array): Float32Array {
  const wide = new Uint32Array(bits.length)
  for (let i = 0; i < bits.length; i++) wide[i] = bits[i] << 16
  return new Float32Array(wide.buffer)
}

export function bfloat16ToFloat32(bits: number): number {
  u32Scratch[0] = (bits & 0xffff) << 16
  return f32Scratch[0]
}

/** float32 → bfloat16 bits, round to nearest even; NaN stays a quiet NaN. */
export function float32ToBfloat16(value: number): number {
  f32Scratch[0] = value
  const x = u32Scratch[0]
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff
}

export function float32ArrayToBfloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length)
  for (let i = 0; i < values.length; i++) out[i] = float32ToBfloat16(values[i])
  return out
}

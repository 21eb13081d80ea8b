import { describe, expect, it } from 'vitest'
import {
  bfloat16ArrayToFloat32,
  bfloat16ToFloat32,
  float16ArrayToFloat32,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToFloat16
} from '../../../src-main/engine/checkpoint/half-float'

// Expected bit patterns from PyTorch 1.13: torch.tensor(v).to(torch.float16 / torch.bfloat16).view(torch.int16).
const ENCODED: [number, number, number][] = [
  // value, float16 bits, bfloat16 bits
  [1.0, 0x3c00, 0x3f80],
  [-2.5, 0xc100, 0xc020],
  [65504, 0x7bff, 0x4780],
  [65519, 0x7bff, 0x4780], // just below the half-way point to 65536: rounds down to the largest half
  [65520, 0x7c00, 0x4780], // half-way, ties to even: overflows to Infinity in float16
  [0.1, 0x2e66, 0x3dcd],
  [2 ** -24, 0x0001, 0x3380], // smallest float16 subnormal
  [2 ** -25, 0x0000, 0x3300], // exactly half of it: ties to even, so zero
  [1.5 * 2 ** -25, 0x0001, 0x3340],
  [1023 * 2 ** -24, 0x03ff, 0x3880], // largest float16 subnormal
  [2 ** -14, 0x0400, 0x3880], // smallest float16 normal
  [-0, 0x8000, 0x8000],
  [1e-40, 0x0000, 0x0001], // float32 subnormal: zero in float16, kept by bfloat16
  [3e38, 0x7c00, 0x7f62],
  [Infinity, 0x7c00, 0x7f80]
]

describe('float16', () => {
  it.each(ENCODED)('encodes %d as PyTorch does', (value, f16) => {
    expect(float32ToFloat16(value)).toBe(f16)
  })

  it('decodes normal numbers, subnormals, signed zero and the extremes', () => {
    expect(float16ToFloat32(0x3c00)).toBe(1)
    expect(float16ToFloat32(0xc100)).toBe(-2.5)
    expect(float16ToFloat32(0x7bff)).toBe(65504)
    expect(float16ToFloat32(0xfbff)).toBe(-65504)
    expect(float16ToFloat32(0x0001)).toBe(2 ** -24)
    expect(float16ToFloat32(0x03ff)).toBe(1023 * 2 ** -24)
    expect(float16ToFloat32(0x0400)).toBe(2 ** -14)
    expect(float16ToFloat32(0x3555)).toBe(0.333251953125)
    expect(Object.is(float16ToFloat32(0x8000), -0)).toBe(true)
    expect(float16ToFloat32(0x7c00)).toBe(Infinity)
    expect(float16ToFloat32(0xfc00)).toBe(-Infinity)
    expect(float16ToFloat32(0x7e00)).toBeNaN()
  })

  it('round-trips every finite float16 value exactly', () => {
    const all = new Uint16Array(65536).map((_, i) => i)
    const decoded = float16ArrayToFloat32(all)
    const mismatches: number[] = []
    for (let bits = 0; bits < 65536; bits++) {
      const isFinite = ((bits >> 10) & 0x1f) !== 31
      if (isFinite && float32ToFloat16(decoded[bits]) !== bits) mismatches.push(bits)
    }
    expect(mismatches).toEqual([])
  })

  it('keeps NaN a NaN', () => {
    expect(float16ToFloat32(float32ToFloat16(NaN))).toBeNaN()
  })
})

describe('bfloat16', () => {
  it.each(ENCODED)('encodes %d as PyTorch does', (value, _f16, bf16) => {
    expect(float32ToBfloat16(value)).toBe(bf16)
  })

  it('decodes by widening to the top half of a float32', () => {
    expect(bfloat16ToFloat32(0x3f80)).toBe(1)
    expect(bfloat16ToFloat32(0xc020)).toBe(-2.5)
    expect(bfloat16ToFloat32(0x0001)).toBe(2 ** -133) // subnormal: 2^-149 · 2^16
    expect(bfloat16ToFloat32(0x7f80)).toBe(Infinity)
    expect(Array.from(bfloat16ArrayToFloat32(Uint16Array.of(0x3f80, 0x4780, 0x8000)))).toEqual([1, 65536, -0])
  })

  it('keeps NaN a NaN', () => {
    expect(bfloat16ToFloat32(float32ToBfloat16(NaN))).toBeNaN()
  })
})

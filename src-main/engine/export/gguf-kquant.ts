/**
 * ggml's "k-quants" that Q4_K_M files use, from the block formats' definitions (ggml-common.h's
 * block_q4_K and block_q6_K, dequantize_row_q4_K / _q6_K read as a specification). Both work on
 * super-blocks of 256 values:
 *
 *   Q4_K  144 bytes: f16 d, f16 dmin, 12 bytes of eight 6-bit scales and eight 6-bit mins, then 128
 *         bytes of 4-bit q. Sub-block s (32 values) decodes as x = d·scale_s·q − dmin·min_s. Each
 *         64 values share 32 bytes: the first 32 in the low nibbles, the next 32 in the high ones.
 *         Scales/mins 0–3 are the low 6 bits of bytes 0–3 / 4–7; 4–7 keep their low 4 bits in
 *         bytes 8–11 (scale low nibble, min high nibble) and their top 2 bits in the top 2 bits
 *         of bytes 0–3 (scales) / 4–7 (mins).
 *   Q6_K  210 bytes: 128 bytes of low 4 bits, 64 bytes of high 2 bits, 16 int8 scales (one per
 *         16 values), f16 d. x = d·scale·(q − 32). Each 128 values: value l (l < 32) and its
 *         neighbours at +32, +64, +96 share ql[l], ql[l + 32] (low nibbles: +0, +32; high: +64,
 *         +96) and qh[l] (2 bits each, in that order from the lowest).
 *
 * Scales are chosen from each group's range (min/max for Q4_K, refitted by least squares to its
 * codes; largest magnitude for Q6_K), the way ggml's reference quantizers start; ggml then searches
 * more candidate scales for a lower error, which this does not (the files are valid and decode the
 * same way, a little less exactly).
 */
import { float16ToFloat32, float32ToFloat16 } from '../checkpoint/half-float'

export const Q4_K_BYTES = 144
export const Q6_K_BYTES = 210
const SUPER_BLOCK = 256

const roundHalfAway = (x: number): number => Math.sign(x) * Math.round(Math.abs(x))
const clamp = (x: number, low: number, high: number): number => Math.min(high, Math.max(low, x))

/** One Q4_K super-block of values[start … start+255] into out[at … at+143]. */
export function quantizeQ4_KBlock(values: Float32Array, start: number, out: DataView, at: number): void {
  const scales = new Float64Array(8)
  const mins = new Float64Array(8)
  for (let s = 0; s < 8; s++) [scales[s], mins[s]] = fitScaleMin(values, start + s * 32)
  const maxScale = Math.max(...scales)
  const maxMin = Math.max(...mins)
  const d = float16ToFloat32(float32ToFloat16(maxScale / 63))
  const dmin = float16ToFloat32(float32ToFloat16(maxMin / 63))
  const scaleCodes = Array.from(scales, (s) =>
    maxScale ? clamp(roundHalfAway((63 * s) / maxScale), 0, 63) : 0
  )
  const minCodes = Array.from(mins, (m) => (maxMin ? clamp(roundHalfAway((63 * m) / maxMin), 0, 63) : 0))
  out.setUint16(at, float32ToFloat16(d), true)
  out.setUint16(at + 2, float32ToFloat16(dmin), true)
  for (let s = 0; s < 8; s++) packScaleMin(out, at + 4, s, scaleCodes[s], minCodes[s])

  const codes = new Uint8Array(SUPER_BLOCK)
  for (let s = 0; s < 8; s++) {
    const step = d * scaleCodes[s]
    const offset = dmin * minCodes[s]
    for (let l = 0; l < 32; l++) {
      const i = s * 32 + l
      codes[i] = step ? clamp(roundHalfAway((values[start + i] + offset) / step), 0, 15) : 0
    }
  }
  for (let chunk = 0; chunk < 4; chunk++) {
    for (let l = 0; l < 32; l++) {
      out.setUint8(at + 16 + chunk * 32 + l, codes[chunk * 64 + l] | (codes[chunk * 64 + 32 + l] << 4))
    }
  }
}

/**
 * The step and offset of 32 values' 4-bit codes (x ≈ step·q − offset, offset ≥ 0): first from
 * their range, then refitted by least squares to the codes they round to, while that lowers the
 * squared error.
 */
function fitScaleMin(values: Float32Array, start: number): [step: number, offset: number] {
  let low = 0
  let high = 0
  for (let l = 0; l < 32; l++) {
    low = Math.min(low, values[start + l])
    high = Math.max(high, values[start + l])
  }
  let fit: [number, number] = [(high - low) / 15, -low]
  let fitError = squaredError(values, start, ...fit)
  for (let round = 0; round < 3 && fit[0] > 0; round++) {
    let [sumQ, sumQQ, sumX, sumQX] = [0, 0, 0, 0]
    for (let l = 0; l < 32; l++) {
      const x = values[start + l]
      const q = clamp(roundHalfAway((x + fit[1]) / fit[0]), 0, 15)
      sumQ += q
      sumQQ += q * q
      sumX += x
      sumQX += q * x
    }
    const determinant = 32 * sumQQ - sumQ * sumQ
    if (determinant <= 0) break
    let step = (32 * sumQX - sumQ * sumX) / determinant
    let offset = -(sumQQ * sumX - sumQ * sumQX) / determinant
    if (offset < 0) [step, offset] = [sumQX / sumQQ, 0] // offsets are stored unsigned
    const error = step > 0 ? squaredError(values, start, step, offset) : Infinity
    if (error >= fitError) break
    ;[fit, fitError] = [[step, offset], error]
  }
  return fit
}

function squaredError(values: Float32Array, start: number, step: number, offset: number): number {
  let error = 0
  for (let l = 0; l < 32; l++) {
    const x = values[start + l]
    const q = step ? clamp(roundHalfAway((x + offset) / step), 0, 15) : 0
    error += (step * q - offset - x) ** 2
  }
  return error
}

function packScaleMin(out: DataView, at: number, s: number, scale: number, min: number): void {
  if (s < 4) {
    out.setUint8(at + s, (out.getUint8(at + s) & 0xc0) | scale)
    out.setUint8(at + s + 4, (out.getUint8(at + s + 4) & 0xc0) | min)
    return
  }
  out.setUint8(at + s + 4, (scale & 15) | ((min & 15) << 4))
  out.setUint8(at + s - 4, out.getUint8(at + s - 4) | ((scale >> 4) << 6))
  out.setUint8(at + s, out.getUint8(at + s) | ((min >> 4) << 6))
}

function unpackScaleMin(bytes: DataView, at: number, s: number): [scale: number, min: number] {
  if (s < 4) return [bytes.getUint8(at + s) & 63, bytes.getUint8(at + s + 4) & 63]
  return [
    (bytes.getUint8(at + s + 4) & 15) | ((bytes.getUint8(at + s - 4) >> 6) << 4),
    (bytes.getUint8(at + s + 4) >> 4) | ((bytes.getUint8(at + s) >> 6) << 4)
  ]
}

export function dequantizeQ4_KBlock(bytes: DataView, at: number, out: Float32Array, start: number): void {
  const d = float16ToFloat32(bytes.getUint16(at, true))
  const dmin = float16ToFloat32(bytes.getUint16(at + 2, true))
  for (let s = 0; s < 8; s++) {
    const [scale, min] = unpackScaleMin(bytes, at + 4, s)
    const chunk = s >> 1
    const shift = (s & 1) * 4
    for (let l = 0; l < 32; l++) {
      const q = (bytes.getUint8(at + 16 + chunk * 32 + l) >> shift) & 15
      out[start + s * 32 + l] = d * scale * q - dmin * min
    }
  }
}

/** One Q6_K super-block of values[start … start+255] into out[at … at+209]. */
export function quantizeQ6_KBlock(values: Float32Array, start: number, out: DataView, at: number): void {
  // Each group of 16: the scale that maps its largest-magnitude value to −32.
  const groupScales = new Float64Array(16)
  for (let g = 0; g < 16; g++) {
    let signedMax = 0
    for (let l = 0; l < 16; l++) {
      const v = values[start + g * 16 + l]
      if (Math.abs(v) > Math.abs(signedMax)) signedMax = v
    }
    groupScales[g] = signedMax / -32
  }
  let largest = 0
  for (const s of groupScales) if (Math.abs(s) > Math.abs(largest)) largest = s
  const inverse = largest ? -128 / largest : 0
  const d = float16ToFloat32(float32ToFloat16(inverse ? 1 / inverse : 0))
  const scaleCodes = Array.from(groupScales, (s) => clamp(roundHalfAway(inverse * s), -128, 127))
  const codes = new Uint8Array(SUPER_BLOCK)
  for (let i = 0; i < SUPER_BLOCK; i++) {
    const step = d * scaleCodes[i >> 4]
    codes[i] = step ? clamp(roundHalfAway(values[start + i] / step), -32, 31) + 32 : 32
  }
  for (let half = 0; half < 2; half++) {
    const n = half * 128
    for (let l = 0; l < 32; l++) {
      const [q1, q2, q3, q4] = [codes[n + l], codes[n + l + 32], codes[n + l + 64], codes[n + l + 96]]
      out.setUint8(at + half * 64 + l, (q1 & 15) | ((q3 & 15) << 4))
      out.setUint8(at + half * 64 + l + 32, (q2 & 15) | ((q4 & 15) << 4))
      out.setUint8(
        at + 128 + half * 32 + l,
        (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6)
      )
    }
  }
  for (let g = 0; g < 16; g++) out.setInt8(at + 192 + g, scaleCodes[g])
  out.setUint16(at + 208, float32ToFloat16(d), true)
}

export function dequantizeQ6_KBlock(bytes: DataView, at: number, out: Float32Array, start: number): void {
  const d = float16ToFloat32(bytes.getUint16(at + 208, true))
  for (let half = 0; half < 2; half++) {
    const n = half * 128
    for (let l = 0; l < 32; l++) {
      const low1 = bytes.getUint8(at + half * 64 + l)
      const low2 = bytes.getUint8(at + half * 64 + l + 32)
      const high = bytes.getUint8(at + 128 + half * 32 + l)
      const quads = [
        (low1 & 15) | ((high & 3) << 4),
        (low2 & 15) | (((high >> 2) & 3) << 4),
        (low1 >> 4) | (((high >> 4) & 3) << 4),
        (low2 >> 4) | (((high >> 6) & 3) << 4)
      ]
      quads.forEach((q, k) => {
        const i = n + l + 32 * k
        out[start + i] = d * bytes.getInt8(at + 192 + (i >> 4)) * (q - 32)
      })
    }
  }
}

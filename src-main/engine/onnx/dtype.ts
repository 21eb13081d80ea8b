/**
 * Element types the engine uses, with their ONNX TensorProto.DataType codes, sizes and the typed
 * arrays that hold them on the JS side. float16 travels as raw IEEE half bits in a Uint16Array
 * (onnxruntime-node accepts that); bfloat16 likewise, but only inside graphs (stored weights): it
 * cannot cross the JS boundary. bool is one byte per element.
 */

export const DTYPES = [
  'float32',
  'float64',
  'float16',
  'bfloat16',
  'int64',
  'int32',
  'int8',
  'uint8',
  'bool'
] as const
export type DType = (typeof DTYPES)[number]

/** TensorProto.DataType values from onnx.proto. */
export const ONNX_DATA_TYPE: Readonly<Record<DType, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  bfloat16: 16
}

export const BYTES_PER_ELEMENT: Readonly<Record<DType, number>> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int8: 1,
  uint8: 1,
  bool: 1
}

export interface TypedArrayFor {
  float32: Float32Array
  float64: Float64Array
  float16: Uint16Array
  bfloat16: Uint16Array
  int64: BigInt64Array
  int32: Int32Array
  int8: Int8Array
  uint8: Uint8Array
  bool: Uint8Array
}

export type AnyTypedArray = TypedArrayFor[DType]

const TYPED_ARRAY_CONSTRUCTORS = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array
} as const

export function isDType(value: string): value is DType {
  return (DTYPES as readonly string[]).includes(value)
}

export function isFloatDType(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16'
}

export function dtypeFromOnnx(code: number): DType {
  for (const dtype of DTYPES) if (ONNX_DATA_TYPE[dtype] === code) return dtype
  throw new Error(`dtypeFromOnnx: unsupported ONNX data type ${code}`)
}

/** A zero-filled typed array of `length` elements of `dtype`. */
export function allocTypedArray<D extends DType>(dtype: D, length: number): TypedArrayFor[D] {
  return new TYPED_ARRAY_CONSTRUCTORS[dtype](length) as TypedArrayFor[D]
}

/** Checks that `data` is the typed array `dtype` travels in (Uint16Array for float16, …). */
export function assertTypedArrayFor(dtype: DType, data: ArrayBufferView, where: string): void {
  const expected = TYPED_ARRAY_CONSTRUCTORS[dtype]
  if (!(data instanceof expected)) {
    throw new Error(`${where}: dtype ${dtype} needs a ${expected.name}, got ${data.constructor.name}`)
  }
}

/**
 * Converts JS numbers into the typed array for `dtype`. float16 values are rounded to the
 * nearest half (ties to even); int64 values must be safe integers.
 */
export function typedArrayFromNumbers<D extends DType>(
  dtype: D,
  values: ArrayLike<number>
): TypedArrayFor[D] {
  const out = allocTypedArray(dtype, values.length)
  if (dtype === 'int64') {
    const ints = out as BigInt64Array
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      if (!Number.isSafeInteger(v))
        throw new Error(`typedArrayFromNumbers: int64 value ${v} is not a safe integer`)
      ints[i] = BigInt(v)
    }
  } else if (dtype === 'float16') {
    const halves = out as Uint16Array
    for (let i = 0; i < values.length; i++) halves[i] = float32ToFloat16Bits(values[i])
  } else if (dtype === 'bool') {
    const bytes = out as Uint8Array
    for (let i = 0; i < values.length; i++) bytes[i] = values[i] ? 1 : 0
  } else {
    ;(out as Float64Array).set(values)
  }
  return out
}

/** Reads a typed array of `dtype` back as JS numbers (int64 must fit a safe integer). */
export function numbersFromTypedArray(dtype: DType, data: AnyTypedArray): number[] {
  const out = new Array<number>(data.length)
  if (dtype === 'int64') {
    const ints = data as BigInt64Array
    for (let i = 0; i < ints.length; i++) {
      const v = Number(ints[i])
      if (!Number.isSafeInteger(v))
        throw new Error(`numbersFromTypedArray: int64 value ${ints[i]} is not safe`)
      out[i] = v
    }
  } else if (dtype === 'float16') {
    const halves = data as Uint16Array
    for (let i = 0; i < halves.length; i++) out[i] = float16BitsToNumber(halves[i])
  } else {
    const nums = data as Float64Array
    for (let i = 0; i < nums.length; i++) out[i] = nums[i]
  }
  return out
}

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/** IEEE 754 binary16 bits of `value`, rounded to nearest even (overflow becomes ±Infinity). */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value
  const bits = u32[0]
  const sign = (bits >>> 16) & 0x8000
  const exponent = (bits >>> 23) & 0xff
  const mantissa = bits & 0x7fffff
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0)
  const halfExponent = exponent - 127 + 15
  if (halfExponent >= 0x1f) return sign | 0x7c00
  if (halfExponent <= 0) {
    // Subnormal half (or zero): shift the mantissa with its implicit leading one.
    if (halfExponent < -10) return sign
    const full = mantissa | 0x800000
    const shift = 14 - halfExponent
    const rounded = roundShiftRightEven(full, shift)
    return sign | rounded
  }
  const rounded = roundShiftRightEven(mantissa, 13)
  // A mantissa that rounds up to 0x400 carries into the exponent, which is exactly right.
  return sign | ((halfExponent << 10) + rounded)
}

function roundShiftRightEven(value: number, shift: number): number {
  const truncated = value >>> shift
  const remainder = value & ((1 << shift) - 1)
  const half = 1 << (shift - 1)
  if (remainder > half || (remainder === half && (truncated & 1) === 1)) return truncated + 1
  return truncated
}

export function float16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >>> 10) & 0x1f
  const mantissa = bits & 0x3ff
  if (exponent === 0) return sign * mantissa * 2 ** -24
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15)
}

import { describe, expect, test } from 'vitest'
import {
  float16BitsToNumber,
  float32ToFloat16Bits,
  typedArrayFromNumbers
} from '../../../src-main/engine/onnx/dtype'
import { ProtoWriter, varintSize } from '../../../src-main/engine/onnx/protobuf'
import { decodeFields, packedVarints, stringField } from './wire'

const bytesOf = (w: ProtoWriter) => Array.from(w.finish())

describe('ProtoWriter', () => {
  test('varints follow the protobuf encoding', () => {
    expect(bytesOf(new ProtoWriter().uint32(0))).toEqual([0])
    expect(bytesOf(new ProtoWriter().uint32(1))).toEqual([1])
    expect(bytesOf(new ProtoWriter().uint32(300))).toEqual([0xac, 0x02])
    expect(bytesOf(new ProtoWriter().uint32(0xffffffff))).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f])
    expect(bytesOf(new ProtoWriter().int64(2 ** 40))).toEqual([0x80, 0x80, 0x80, 0x80, 0x80, 0x20])
  })

  test('negative int64 takes ten bytes of two’s complement', () => {
    expect(bytesOf(new ProtoWriter().int64(-1))).toEqual([
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
    ])
    expect(packedVarints(new ProtoWriter().int64(-2).finish())).toEqual([-2n])
    expect(packedVarints(new ProtoWriter().int64(-(2n ** 63n)).finish())).toEqual([-(2n ** 63n)])
    expect(() => new ProtoWriter().int64(2 ** 60)).toThrow(/not a safe integer/)
  })

  test('fixed32 floats are little-endian', () => {
    expect(bytesOf(new ProtoWriter().float32(1))).toEqual([0, 0, 0x80, 0x3f])
  })

  test('strings are UTF-8 with their byte length, including multi-byte characters', () => {
    const w = new ProtoWriter().stringField(1, 'héllo').stringField(2, '').stringField(3, '→'.repeat(50))
    const fields = decodeFields(w.finish())
    expect(stringField(fields, 1)).toEqual(['héllo'])
    expect(stringField(fields, 2)).toEqual([''])
    expect(stringField(fields, 3)).toEqual(['→'.repeat(50)])
  })

  test('nested messages get their lengths, large byte arrays survive intact', () => {
    const big = new Uint8Array(10_000).map((_, i) => i % 251)
    const w = new ProtoWriter()
    w.messageField(1, () => {
      w.uint32Field(1, 7)
      w.messageField(2, () => w.bytesField(3, big))
      w.stringField(4, 'after')
    })
    w.uint32Field(2, 9)
    const top = decodeFields(w.finish())
    const outer = decodeFields((top.get(1)![0] as { bytes: Uint8Array }).bytes)
    expect((outer.get(1)![0] as { value: bigint }).value).toBe(7n)
    const inner = decodeFields((outer.get(2)![0] as { bytes: Uint8Array }).bytes)
    expect(Buffer.from((inner.get(3)![0] as { bytes: Uint8Array }).bytes).equals(Buffer.from(big))).toBe(true)
    expect(stringField(outer, 4)).toEqual(['after'])
    expect((top.get(2)![0] as { value: bigint }).value).toBe(9n)
  })

  test('many small fields spill over the scratch buffer correctly', () => {
    const w = new ProtoWriter()
    for (let i = 0; i < 50_000; i++) w.stringField(1, `name_${i}`)
    const names = stringField(decodeFields(w.finish()), 1)
    expect(names).toHaveLength(50_000)
    expect(names[0]).toBe('name_0')
    expect(names[49_999]).toBe('name_49999')
  })

  test('packed int64 writes one length-delimited run', () => {
    const fields = decodeFields(new ProtoWriter().packedInt64Field(1, [1, -1, 300]).finish())
    expect(fields.get(1)).toHaveLength(1)
    expect(packedVarints((fields.get(1)![0] as { bytes: Uint8Array }).bytes)).toEqual([1n, -1n, 300n])
  })

  test('join without fork and finish with an open message throw', () => {
    expect(() => new ProtoWriter().join()).toThrow(/join without fork/)
    expect(() => new ProtoWriter().fork().finish()).toThrow(/still open/)
  })

  test('varintSize', () => {
    expect([0, 127, 128, 16383, 16384, 2 ** 31].map(varintSize)).toEqual([1, 1, 2, 2, 3, 5])
  })
})

describe('float16', () => {
  test('known bit patterns', () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00)
    expect(float32ToFloat16Bits(-2)).toBe(0xc000)
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff)
    expect(float32ToFloat16Bits(1e6)).toBe(0x7c00)
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001)
    expect(float32ToFloat16Bits(0.1)).toBe(0x2e66)
    expect(Number.isNaN(float16BitsToNumber(float32ToFloat16Bits(NaN)))).toBe(true)
  })

  test('round trip of representable values and ties to even', () => {
    for (const v of [0, 0.5, -0.25, 1024, 3.140625, 6.103515625e-5, 5.960464477539063e-8]) {
      expect(float16BitsToNumber(float32ToFloat16Bits(v))).toBe(v)
    }
    // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties to the even mantissa (1).
    expect(float16BitsToNumber(float32ToFloat16Bits(1 + 2 ** -11))).toBe(1)
    expect(float16BitsToNumber(float32ToFloat16Bits(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9)
  })

  test('typedArrayFromNumbers converts per dtype', () => {
    expect(Array.from(typedArrayFromNumbers('float16', [1, -2]))).toEqual([0x3c00, 0xc000])
    expect(Array.from(typedArrayFromNumbers('int64', [3, -4]))).toEqual([3n, -4n])
    expect(Array.from(typedArrayFromNumbers('bool', [0, 2]))).toEqual([0, 1])
    expect(() => typedArrayFromNumbers('int64', [0.5])).toThrow(/not a safe integer/)
  })
})

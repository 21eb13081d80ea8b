import * as fs from 'node:fs'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { openCheckpoint, openSafetensors } from '../../../src-main/engine/checkpoint/safetensors'
import { writeSafetensors, type TensorToWrite } from '../../../src-main/engine/checkpoint/safetensors-write'

// Pass-through spy on positioned reads, to prove a tensor read touches only its own bytes.
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>()
  return { ...actual, readSync: vi.fn(actual.readSync) }
})

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'safetensors-test-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** A safetensors file assembled by hand from the spec, independent of our writer. */
function handmadeFile(path: string, header: unknown, data: Buffer, headerLength?: number): void {
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  const length = Buffer.alloc(8)
  length.writeBigUInt64LE(BigInt(headerLength ?? json.length))
  writeFileSync(path, Buffer.concat([length, json, data]))
}

function float32Bytes(values: number[]): Buffer {
  return Buffer.from(new Float32Array(values).buffer)
}

describe('reading', () => {
  it('reads a file assembled by hand from the spec', () => {
    const path = join(dir, 'hand.safetensors')
    const data = Buffer.concat([float32Bytes([1, -2, 3.5]), Buffer.from([0x00, 0x3c, 0x00, 0xc1])])
    handmadeFile(
      path,
      {
        __metadata__: { format: 'pt' },
        w: { dtype: 'F32', shape: [3], data_offsets: [0, 12] },
        h: { dtype: 'F16', shape: [1, 2], data_offsets: [12, 16] }
      },
      data
    )
    const file = openSafetensors(path)
    try {
      expect(file.names()).toEqual(['w', 'h'])
      expect(file.metadata).toEqual({ format: 'pt' })
      expect(file.info('h')).toMatchObject({ dtype: 'F16', shape: [1, 2], byteLength: 4 })
      expect(Array.from(file.readFloat32('w'))).toEqual([1, -2, 3.5])
      expect(Array.from(file.readFloat32('h'))).toEqual([1, -2.5])
      expect(Array.from(file.readBytes('h'))).toEqual([0x00, 0x3c, 0x00, 0xc1])
    } finally {
      file.close()
    }
  })

  it('reads one tensor with a single positioned read of exactly its byte range', () => {
    const path = join(dir, 'model.safetensors')
    writeSafetensors(path, [
      { name: 'a', dtype: 'F32', shape: [1000], data: new Float32Array(1000).fill(1) },
      { name: 'b', dtype: 'F32', shape: [3], data: [7, 8, 9] },
      { name: 'c', dtype: 'F32', shape: [1000], data: new Float32Array(1000).fill(2) }
    ])
    const file = openSafetensors(path)
    try {
      const { fileOffset, byteLength } = file.info('b')
      const readSync = vi.mocked(fs.readSync)
      readSync.mockClear()
      expect(Array.from(file.readFloat32('b'))).toEqual([7, 8, 9])
      expect(readSync).toHaveBeenCalledTimes(1)
      const [, , , length, position] = readSync.mock.calls[0] as unknown as [
        number,
        Buffer,
        number,
        number,
        number
      ]
      expect([length, position]).toEqual([byteLength, fileOffset])
      expect(fileOffset).toBe(readFileSync(path).readUInt32LE(0) + 8 + 4000)
    } finally {
      file.close()
    }
  })

  it('ignores corruption in tensors it does not read', () => {
    const path = join(dir, 'model.safetensors')
    writeSafetensors(path, [
      { name: 'a', dtype: 'F32', shape: [4], data: [1, 2, 3, 4] },
      { name: 'b', dtype: 'F32', shape: [2], data: [5, 6] }
    ])
    const bytes = readFileSync(path)
    const file = openSafetensors(path)
    const aOffset = file.info('a').fileOffset
    file.close()
    bytes.fill(0xff, aOffset, aOffset + 16) // 'a' becomes NaNs
    writeFileSync(path, bytes)
    const reopened = openSafetensors(path)
    try {
      expect(Array.from(reopened.readFloat32('b'))).toEqual([5, 6])
      expect(reopened.readFloat32('a')[0]).toBeNaN()
    } finally {
      reopened.close()
    }
  })

  it('opens a file with a 1 GiB tensor and reads a small one without touching the large one', () => {
    const path = join(dir, 'sparse.safetensors')
    const huge = 2 ** 28 // F32 elements: 1 GiB
    const header = Buffer.from(
      JSON.stringify({
        huge: { dtype: 'F32', shape: [huge], data_offsets: [0, huge * 4] },
        small: { dtype: 'F32', shape: [2], data_offsets: [huge * 4, huge * 4 + 8] }
      })
    )
    const length = Buffer.alloc(8)
    length.writeBigUInt64LE(BigInt(header.length))
    const fd = fs.openSync(path, 'w')
    fs.writeSync(fd, Buffer.concat([length, header]), 0, 8 + header.length, 0)
    fs.writeSync(fd, float32Bytes([0.5, -0.5]), 0, 8, 8 + header.length + huge * 4) // the file stays sparse
    fs.closeSync(fd)
    const readSync = vi.mocked(fs.readSync)
    readSync.mockClear()
    const file = openSafetensors(path)
    try {
      expect(Array.from(file.readFloat32('small'))).toEqual([0.5, -0.5])
      const lengths = readSync.mock.calls.map(
        (call) => (call as unknown as [number, Buffer, number, number])[3]
      )
      const bytesRead = lengths.reduce((sum, length) => sum + length, 0)
      expect(bytesRead).toBeLessThan(1024)
    } finally {
      file.close()
    }
  })

  it('names the file and the tensor when a tensor does not exist or the file is closed', () => {
    const path = join(dir, 'x.safetensors')
    writeSafetensors(path, [{ name: 'a', dtype: 'U8', shape: [1], data: [1] }])
    const file = openSafetensors(path)
    expect(() => file.info('nope')).toThrow(`${path}: no tensor named "nope"`)
    file.close()
    expect(() => file.readBytes('a')).toThrow(`${path} is closed`)
  })
})

describe('malformed files', () => {
  const valid = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }
  const cases: [string, (path: string) => void, string][] = [
    [
      'shorter than 8 bytes',
      (p) => writeFileSync(p, Buffer.from([1, 2, 3])),
      'shorter than the 8-byte header length'
    ],
    [
      'header length past the end',
      (p) => handmadeFile(p, valid, float32Bytes([1, 2]), 10_000),
      'runs past the end'
    ],
    [
      'header length over 100 MB',
      (p) => handmadeFile(p, valid, float32Bytes([1, 2]), 200_000_000),
      'exceeds the 100 MB limit'
    ],
    [
      'header not JSON',
      (p) => {
        const length = Buffer.alloc(8)
        length.writeBigUInt64LE(5n)
        writeFileSync(p, Buffer.concat([length, Buffer.from('{nope')]))
      },
      'header is not valid JSON'
    ],
    [
      'unknown dtype',
      (p) => handmadeFile(p, { a: { dtype: 'F8_E4M3', shape: [8], data_offsets: [0, 8] } }, Buffer.alloc(8)),
      'tensor "a": unsupported dtype "F8_E4M3"'
    ],
    [
      'byte length not dtype × shape',
      (p) => handmadeFile(p, { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8)),
      'tensor "a": F32 × [3] needs 12 bytes, data_offsets give 8'
    ],
    [
      'offsets past the data',
      (p) => handmadeFile(p, { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, Buffer.alloc(8)),
      'tensor "a": data_offsets [0, 16] run past the 8-byte data section'
    ],
    [
      'overlapping tensors',
      (p) =>
        handmadeFile(
          p,
          {
            a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
            b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] }
          },
          Buffer.alloc(8)
        ),
      'tensors "a" and "b" overlap'
    ],
    [
      'bad shape',
      (p) => handmadeFile(p, { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }, Buffer.alloc(0)),
      'tensor "a": shape must be an array of non-negative integers'
    ],
    [
      'absurd shape',
      (p) =>
        handmadeFile(p, { a: { dtype: 'F32', shape: [1e15, 1e15], data_offsets: [0, 8] } }, Buffer.alloc(8)),
      'tensor "a": F32 × [1000000000000000, 1000000000000000] needs 4e+30 bytes, data_offsets give 8'
    ],
    [
      'a shape of a thousand dimensions',
      (p) =>
        handmadeFile(
          p,
          { a: { dtype: 'F32', shape: new Array(1000).fill(0), data_offsets: [0, 0] } },
          Buffer.alloc(0)
        ),
      'tensor "a": shape has 1000 dimensions, more than the 8 allowed'
    ],
    [
      'offsets far past the file',
      (p) =>
        handmadeFile(
          p,
          { a: { dtype: 'U8', shape: [2 ** 50], data_offsets: [0, 2 ** 50] } },
          Buffer.alloc(8)
        ),
      `tensor "a": data_offsets [0, ${2 ** 50}] run past the 8-byte data section`
    ]
  ]

  it.each(cases)('%s: the error names the file and the problem', (_title, make, message) => {
    const path = join(dir, 'bad.safetensors')
    make(path)
    expect(() => openSafetensors(path)).toThrow(`safetensors: ${path}: `)
    expect(() => openSafetensors(path)).toThrow(message)
  })
})

describe('writing', () => {
  const tensors: TensorToWrite[] = [
    { name: 'f64', dtype: 'F64', shape: [2], data: [Math.PI, -1e300] },
    { name: 'f32', dtype: 'F32', shape: [2, 2], data: new Float32Array([1, -2.5, 65504, 1e-40]) },
    { name: 'f16', dtype: 'F16', shape: [5], data: [1, -2.5, 65504, 2 ** -24, 1023 * 2 ** -24] },
    { name: 'bf16', dtype: 'BF16', shape: [4], data: [1, -2.5, 65504, 1e-40] },
    { name: 'i64', dtype: 'I64', shape: [3], data: [0, -5, 2 ** 40] },
    { name: 'i32', dtype: 'I32', shape: [2], data: new Int32Array([-7, 2 ** 31 - 1]) },
    { name: 'i16', dtype: 'I16', shape: [1], data: [-300] },
    { name: 'i8', dtype: 'I8', shape: [2], data: [-128, 127] },
    { name: 'u8', dtype: 'U8', shape: [2], data: [0, 255] },
    { name: 'bool', dtype: 'BOOL', shape: [2], data: [1, 0] },
    { name: 'empty', dtype: 'F32', shape: [0, 4], data: [] },
    { name: 'raw', dtype: 'F16', shape: [2], data: new Uint8Array([0x00, 0x3c, 0xff, 0x7b]) }
  ]

  it('round-trips every dtype, with float16/bfloat16 rounding as specified', () => {
    const path = join(dir, 'all.safetensors')
    writeSafetensors(path, tensors, { format: 'pt', note: 'ünïcode' })
    const file = openSafetensors(path)
    try {
      expect(file.names()).toEqual(tensors.map((t) => t.name))
      expect(file.metadata).toEqual({ format: 'pt', note: 'ünïcode' })
      for (const t of tensors) expect(file.info(t.name)).toMatchObject({ dtype: t.dtype, shape: t.shape })
      const values = (name: string): number[] => Array.from(file.readFloat32(name))
      expect(values('f64')).toEqual([Math.fround(Math.PI), -Infinity])
      expect(values('f32')).toEqual([1, -2.5, 65504, Math.fround(1e-40)])
      expect(values('f16')).toEqual([1, -2.5, 65504, 2 ** -24, 1023 * 2 ** -24])
      expect(values('bf16')).toEqual([1, -2.5, 65536, 2 ** -133]) // 1e-40 keeps its top bits: 0x0001
      expect(values('i64')).toEqual([0, -5, 2 ** 40])
      expect(values('i32')).toEqual([-7, 2 ** 31])
      expect(values('i16')).toEqual([-300])
      expect(values('i8')).toEqual([-128, 127])
      expect(values('u8')).toEqual([0, 255])
      expect(values('bool')).toEqual([1, 0])
      expect(values('empty')).toEqual([])
      expect(values('raw')).toEqual([1, 65504])
      expect(Array.from(file.readBytes('f16'))).toEqual([
        0x00, 0x3c, 0x00, 0xc1, 0xff, 0x7b, 0x01, 0x00, 0xff, 0x03
      ])
      expect(new BigInt64Array(file.readBytes('i64').buffer)[2]).toBe(2n ** 40n)
    } finally {
      file.close()
    }
  })

  it('pads the header with spaces to a multiple of 8 bytes, as the format specifies', () => {
    const path = join(dir, 'pad.safetensors')
    writeSafetensors(path, [{ name: 'abc', dtype: 'U8', shape: [3], data: [1, 2, 3] }])
    const bytes = readFileSync(path)
    const headerLength = Number(bytes.readBigUInt64LE(0))
    expect(headerLength % 8).toBe(0)
    const header = bytes.subarray(8, 8 + headerLength).toString('utf8')
    expect(header.trimEnd()).toBe('{"abc":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}')
    expect(header.slice(header.trimEnd().length)).toMatch(/^ *$/)
    expect(Array.from(bytes.subarray(8 + headerLength))).toEqual([1, 2, 3])
  })

  it('replaces the file atomically and leaves nothing behind when writing fails', () => {
    const path = join(dir, 'model.safetensors')
    writeSafetensors(path, [{ name: 'a', dtype: 'F32', shape: [1], data: [1] }])
    const before = readFileSync(path)
    expect(() => writeSafetensors(path, [{ name: 'a', dtype: 'F32', shape: [2], data: [1, 2, 3] }])).toThrow(
      `writeSafetensors: ${path}: tensor "a": shape [2] holds 2 values, got 3`
    )
    expect(readFileSync(path).equals(before)).toBe(true)
    expect(readdirSync(dir)).toEqual(['model.safetensors'])
  })

  it('refuses duplicate names, out-of-range integers and a tensor called __metadata__', () => {
    const path = join(dir, 'bad.safetensors')
    const one = { dtype: 'U8' as const, shape: [1], data: [1] }
    expect(() =>
      writeSafetensors(path, [
        { name: 'a', ...one },
        { name: 'a', ...one }
      ])
    ).toThrow('tensor "a": written twice')
    expect(() => writeSafetensors(path, [{ name: 'a', dtype: 'U8', shape: [1], data: [256] }])).toThrow(
      'value 256 at index 0 is not a U8 integer in [0, 255]'
    )
    expect(() => writeSafetensors(path, [{ name: '__metadata__', ...one }])).toThrow('reserved')
    expect(readdirSync(dir)).toEqual([])
  })
})

describe('checkpoints', () => {
  it('opens a sharded checkpoint through model.safetensors.index.json as one set', () => {
    writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), [
      { name: 'model.embed_tokens.weight', dtype: 'BF16', shape: [2, 2], data: [1, 2, 3, 4] }
    ])
    writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), [
      { name: 'model.norm.weight', dtype: 'F16', shape: [2], data: [0.5, -0.5] },
      { name: 'lm_head.weight', dtype: 'F32', shape: [2, 2], data: [5, 6, 7, 8] }
    ])
    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({
        metadata: { total_size: 24 },
        weight_map: {
          'model.embed_tokens.weight': 'model-00001-of-00002.safetensors',
          'model.norm.weight': 'model-00002-of-00002.safetensors',
          'lm_head.weight': 'model-00002-of-00002.safetensors'
        }
      })
    )
    const checkpoint = openCheckpoint(dir)
    try {
      expect(checkpoint.names().sort()).toEqual([
        'lm_head.weight',
        'model.embed_tokens.weight',
        'model.norm.weight'
      ])
      expect(Array.from(checkpoint.readFloat32('model.embed_tokens.weight'))).toEqual([1, 2, 3, 4])
      expect(Array.from(checkpoint.readFloat32('model.norm.weight'))).toEqual([0.5, -0.5])
      expect(checkpoint.info('lm_head.weight').file).toBe(join(dir, 'model-00002-of-00002.safetensors'))
      expect(() => checkpoint.info('x')).toThrow('weight_map has no tensor named "x"')
    } finally {
      checkpoint.close()
    }
  })

  it('reports an index entry whose shard lacks the tensor, or points outside the folder', () => {
    writeSafetensors(join(dir, 'a.safetensors'), [{ name: 'x', dtype: 'U8', shape: [1], data: [1] }])
    const index = join(dir, 'model.safetensors.index.json')
    writeFileSync(index, JSON.stringify({ weight_map: { x: 'a.safetensors', y: 'a.safetensors' } }))
    expect(() => openCheckpoint(dir)).toThrow(
      `${index}: weight_map maps "y" to a.safetensors, which has no such tensor`
    )
    writeFileSync(index, JSON.stringify({ weight_map: { x: '../a.safetensors' } }))
    expect(() => openCheckpoint(dir)).toThrow('not a file inside')
  })

  it('refuses a shard index larger than a header may be, without reading it', () => {
    const index = join(dir, 'model.safetensors.index.json')
    writeFileSync(index, '{"weight_map": {')
    fs.truncateSync(index, 100_000_001)
    expect(() => openCheckpoint(dir)).toThrow(
      `safetensors: ${index}: cannot read the shard index: the file is 100000001 bytes, more than the ` +
        '100000000 an index may have'
    )
  })

  it('says what is missing in a folder without weights', () => {
    expect(() => openCheckpoint(dir)).toThrow(
      `openCheckpoint: ${dir} has neither model.safetensors nor model.safetensors.index.json`
    )
  })
})

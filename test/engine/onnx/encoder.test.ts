import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import {
  encodeModel,
  EXTERNAL_DATA_ALIGNMENT,
  externalTensor,
  irVersionForOpset,
  saveModel,
  tensorFromNumbers,
  tensorFromTypedArray,
  type OnnxModel,
  type OnnxTensor
} from '../../../src-main/engine/onnx/index'
import { createSession, hostTensor } from '../../../src-main/engine/runtime/session'
import { decodeFields, messageFields, packedVarints, stringField, varintField } from './wire'

const dirs: string[] = []
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'onnx-encoder-'))
  dirs.push(dir)
  return dir
}

function model(graph: OnnxModel['graph']): OnnxModel {
  return {
    irVersion: irVersionForOpset(18),
    opsetImports: [{ domain: '', version: 18 }],
    producerName: 'test',
    producerVersion: '1',
    graph
  }
}

/**
 * y = Pad(Cast(Transpose(x, perm) · alpha·W, float64), mode constant) + ConstantOfShape(value)
 * with one attribute of each kind: ints (perm), float (alpha), int (to), string (mode), tensor (value).
 */
function handBuilt(weight: OnnxTensor): OnnxModel {
  return model({
    name: 'hand-built',
    nodes: [
      {
        opType: 'Transpose',
        name: 't',
        inputs: ['x'],
        outputs: ['xt'],
        attributes: [{ name: 'perm', value: { kind: 'ints', value: [1, 0] } }]
      },
      {
        opType: 'Gemm',
        name: 'gemm',
        inputs: ['xt', 'w'],
        outputs: ['y32'],
        attributes: [{ name: 'alpha', value: { kind: 'float', value: 0.5 } }]
      },
      {
        opType: 'Cast',
        inputs: ['y32'],
        outputs: ['y64'],
        attributes: [{ name: 'to', value: { kind: 'int', value: 11 } }]
      },
      {
        opType: 'Pad',
        inputs: ['y64', 'pads'],
        outputs: ['padded'],
        attributes: [{ name: 'mode', value: { kind: 'string', value: 'constant' } }]
      },
      {
        opType: 'ConstantOfShape',
        inputs: ['fill_shape'],
        outputs: ['fill'],
        attributes: [
          { name: 'value', value: { kind: 'tensor', value: tensorFromNumbers('v', 'float64', [1], [0.25]) } }
        ]
      },
      { opType: 'Add', inputs: ['padded', 'fill'], outputs: ['y'] }
    ],
    initializers: [
      weight,
      tensorFromNumbers('pads', 'int64', [4], [0, 1, 0, 0]),
      tensorFromNumbers('fill_shape', 'int64', [1], [1])
    ],
    inputs: [{ name: 'x', dtype: 'float32', shape: [2, 'batch'] }],
    outputs: [{ name: 'y', dtype: 'float64', shape: ['batch', 4] }]
  })
}

/** What handBuilt computes for x [2, batch] (row-major) and W [2, 3]. */
function expected(x: number[], batch: number, w: number[]): number[] {
  const out: number[] = []
  for (let b = 0; b < batch; b++) {
    out.push(0.25) // the padded column
    for (let j = 0; j < 3; j++) {
      const dot = x[b] * w[j] + x[batch + b] * w[3 + j]
      out.push(Math.fround(0.5 * dot) + 0.25)
    }
  }
  return out
}

describe('hand-built ModelProto', () => {
  const w = [1, 2, 3, -1, 0.5, 4]
  const weight = tensorFromNumbers('w', 'float32', [2, 3], w)

  test('loads in onnxruntime and computes the right numbers, for several batch sizes', async () => {
    const session = await createSession(encodeModel(handBuilt(weight)), { intraOpThreads: 1 })
    for (const batch of [1, 3]) {
      const x = Array.from({ length: 2 * batch }, (_, i) => (i + 1) / 4)
      const out = await session.run({ x: hostTensor('float32', [2, batch], Float32Array.from(x)) })
      expect(out.y.dims).toEqual([batch, 4])
      expect(Array.from(out.y.data as Float64Array)).toEqual(expected(x, batch, w))
    }
    await session.release()
  })

  test('encodes the spec’s field numbers', () => {
    const top = decodeFields(encodeModel(handBuilt(weight)))
    expect(varintField(top, 1)).toEqual([8n]) // ir_version
    expect(stringField(top, 2)).toEqual(['test'])
    const [opset] = messageFields(top, 8)
    expect(varintField(opset, 2)).toEqual([18n])
    const [graph] = messageFields(top, 7)
    expect(stringField(graph, 2)).toEqual(['hand-built'])
    const nodes = messageFields(graph, 1)
    expect(nodes.map((n) => stringField(n, 4)[0])).toEqual([
      'Transpose',
      'Gemm',
      'Cast',
      'Pad',
      'ConstantOfShape',
      'Add'
    ])
    const [perm] = messageFields(nodes[0], 5)
    expect(stringField(perm, 1)).toEqual(['perm'])
    expect(varintField(perm, 20)).toEqual([7n]) // AttributeType.INTS
    const [w0] = messageFields(graph, 5)
    expect(packedVarints((w0.get(1)![0] as { bytes: Uint8Array }).bytes)).toEqual([2n, 3n]) // dims
    expect(varintField(w0, 2)).toEqual([1n]) // FLOAT
    const [input] = messageFields(graph, 11)
    const [type] = messageFields(input, 2)
    const [tensorType] = messageFields(type, 1)
    const [shape] = messageFields(tensorType, 2)
    const dims = messageFields(shape, 1)
    expect(varintField(dims[0], 1)).toEqual([2n])
    expect(stringField(dims[1], 2)).toEqual(['batch'])
  })
})

describe('external data', () => {
  test('saveModel moves large initializers to one aligned data file and onnxruntime reads them back', async () => {
    const dir = await tempDir()
    const big = Float32Array.from({ length: 300 }, (_, i) => i / 100) // 1200 bytes
    const big2 = Float64Array.from({ length: 50 }, (_, i) => -i) // 400 bytes
    const m = model({
      name: 'external',
      nodes: [
        {
          opType: 'ReduceSum',
          inputs: ['a'],
          outputs: ['sa'],
          attributes: [{ name: 'keepdims', value: { kind: 'int', value: 0 } }]
        },
        {
          opType: 'ReduceSum',
          inputs: ['b'],
          outputs: ['sb'],
          attributes: [{ name: 'keepdims', value: { kind: 'int', value: 0 } }]
        },
        { opType: 'Mul', inputs: ['sa', 'scale'], outputs: ['y'] }
      ],
      initializers: [
        tensorFromTypedArray('a', 'float32', [300], big),
        tensorFromTypedArray('b', 'float64', [50], big2),
        tensorFromNumbers('scale', 'float32', [], [2])
      ],
      inputs: [],
      outputs: [
        { name: 'y', dtype: 'float32', shape: [] },
        { name: 'sb', dtype: 'float64', shape: [] }
      ]
    })
    const saved = await saveModel(dir, m, { externalThreshold: 256 })
    expect((await readdir(dir)).sort()).toEqual(['model.onnx', 'model.onnx.data']) // no temp files left
    const secondOffset = Math.ceil(1200 / EXTERNAL_DATA_ALIGNMENT) * EXTERNAL_DATA_ALIGNMENT
    expect(secondOffset % 64).toBe(0)
    expect(saved.dataBytes).toBe(secondOffset + 400)
    const data = await readFile(saved.dataPath!)
    expect(data.byteLength).toBe(secondOffset + 400)
    expect(Buffer.from(big.buffer).equals(data.subarray(0, 1200))).toBe(true)
    expect(Buffer.from(big2.buffer).equals(data.subarray(secondOffset, secondOffset + 400))).toBe(true)

    // The model records location / offset / length and data_location = EXTERNAL for both.
    const [graph] = messageFields(decodeFields(await readFile(saved.modelPath)), 7)
    const initializers = messageFields(graph, 5)
    const entries = initializers.map((t) =>
      messageFields(t, 13).map((e) => `${stringField(e, 1)}=${stringField(e, 2)}`)
    )
    expect(entries[0]).toEqual(['location=model.onnx.data', 'offset=0', 'length=1200'])
    expect(entries[1]).toEqual(['location=model.onnx.data', `offset=${secondOffset}`, 'length=400'])
    expect(entries[2]).toEqual([]) // the scalar stays inline
    expect(initializers.slice(0, 2).map((t) => varintField(t, 14))).toEqual([[1n], [1n]])

    const session = await createSession(saved.modelPath, { intraOpThreads: 1 })
    const out = await session.run({})
    await session.release()
    expect((out.y.data as Float32Array)[0]).toBeCloseTo(2 * ((299 * 300) / 2 / 100), 2)
    expect((out.sb.data as Float64Array)[0]).toBe(-(49 * 50) / 2)
  })

  test('an initializer can point into an existing file in the model folder', async () => {
    const dir = await tempDir()
    const weights = Float32Array.from([1.5, -2, 4])
    const file = Buffer.alloc(128 + weights.byteLength)
    Buffer.from(weights.buffer).copy(file, 128)
    await writeFile(join(dir, 'weights.bin'), file)
    const m = model({
      name: 'shared-weights',
      nodes: [{ opType: 'Mul', inputs: ['x', 'w'], outputs: ['y'] }],
      initializers: [externalTensor('w', 'float32', [3], { location: 'weights.bin', offset: 128 })],
      inputs: [{ name: 'x', dtype: 'float32', shape: [3] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [3] }]
    })
    const saved = await saveModel(dir, m)
    expect(saved.dataPath).toBeNull()
    const session = await createSession(saved.modelPath, { intraOpThreads: 1 })
    const out = await session.run({ x: hostTensor('float32', [3], Float32Array.from([2, 2, 2])) })
    await session.release()
    expect(Array.from(out.y.data as Float32Array)).toEqual([3, -4, 8])
  })

  test('external data outside the model folder is refused', () => {
    expect(() => externalTensor('w', 'float32', [1], { location: '../w.bin', offset: 0 })).toThrow(
      /inside the model folder/
    )
    expect(() => externalTensor('w', 'float32', [1], { location: '/tmp/w.bin', offset: 0 })).toThrow(
      /inside the model folder/
    )
    expect(() => externalTensor('w', 'float32', [2], { location: 'w.bin', offset: 0, length: 4 })).toThrow(
      /length 4/
    )
  })

  test('tensor helpers check element counts', () => {
    expect(() => tensorFromTypedArray('t', 'float32', [2, 2], new Float32Array(3))).toThrow(
      /need 4 elements, got 3/
    )
    expect(() => tensorFromTypedArray('t', 'float16', [1], new Float32Array(1) as never)).toThrow(
      /needs a Uint16Array/
    )
  })
})

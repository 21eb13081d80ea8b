import { describe, expect, test } from 'vitest'
import * as op from '../../../src-main/engine/graph/index'
import { GraphBuilder } from '../../../src-main/engine/graph/index'
import { createSession, hostTensor } from '../../../src-main/engine/runtime/session'
import { decodeFields, messageFields, stringField, varintField } from '../onnx/wire'

describe('GraphBuilder names', () => {
  test('output(name) renames an intermediate value; inputs are passed through an Identity', () => {
    const g = new GraphBuilder('names')
    const x = g.input('x', 'float32', [2])
    const y = op.exp(x)
    expect(g.output(y, 'y')).toBe(y)
    expect(y.name).toBe('y')
    const alias = g.output(x, 'x_out')
    expect(alias.producer?.opType).toBe('Identity')
    expect(g.outputs.map((t) => t.name)).toEqual(['y', 'x_out'])
  })

  test('a used name is refused, and so is declaring an output twice', () => {
    const g = new GraphBuilder('dupes')
    const x = g.input('x', 'float32', [2])
    expect(() => g.input('x', 'float32', [2])).toThrow(/name "x" is already used/)
    const y = g.output(op.neg(x), 'y')
    expect(() => g.output(op.exp(x), 'y')).toThrow(/name "y" is already used/)
    expect(() => g.output(y)).toThrow(/already an output/)
  })

  test('scope prefixes generated names', () => {
    const g = new GraphBuilder('scoped')
    const x = g.input('x', 'float32', [2])
    const y = g.scope('layers.0', () => g.scope('mlp', () => op.exp(x)))
    expect(y.name).toMatch(/^layers\.0\/mlp\/Exp_\d+$/)
  })

  test('tensors from another graph are refused', () => {
    const a = new GraphBuilder('a').input('x', 'float32', [1])
    const b = new GraphBuilder('b').input('y', 'float32', [1])
    expect(() => op.add(a, b)).toThrow(/belongs to graph "a", not "b"|belongs to graph "b", not "a"/)
  })

  test('symbolic dim names starting with "?" are reserved', () => {
    expect(() => new GraphBuilder('r').input('x', 'float32', ['?1'])).toThrow(/reserved/)
  })
})

describe('constants', () => {
  test('identical small constants are shared and keep their values', () => {
    const g = new GraphBuilder('consts')
    const a = g.int64s([1, 2])
    expect(g.int64s([1, 2])).toBe(a)
    expect(a.constValue).toEqual([1, 2])
    expect(g.scalar(0.5, 'float32')).not.toBe(g.scalar(0.5, 'float64'))
  })

  test('initializer data is referenced, not copied, until the model is encoded', async () => {
    const g = new GraphBuilder('no-copy')
    const data = Float32Array.from([1, 2, 3])
    const w = g.initializer('w', 'float32', [3], data)
    g.output(op.mul(w, 2), 'y')
    data[0] = 10
    const session = await createSession(g.toBytes(), { intraOpThreads: 1 })
    const out = await session.run({})
    await session.release()
    expect(Array.from(out.y.data as Float32Array)).toEqual([20, 4, 6])
  })

  test('a float16 initializer from a Uint16Array of half bits', async () => {
    const g = new GraphBuilder('fp16')
    const w = g.initializer('w', 'float16', [2], Uint16Array.from([0x3c00, 0xc000])) // 1, -2
    g.output(op.cast(w, 'float32'), 'y')
    const session = await createSession(g.toBytes(), { intraOpThreads: 1 })
    const out = await session.run({})
    await session.release()
    expect(Array.from(out.y.data as Float32Array)).toEqual([1, -2])
  })
})

describe('static shape inference', () => {
  const g = new GraphBuilder('shapes')
  const x = g.input('x', 'float32', ['batch', 'seq', 8])
  const w = g.input('w', 'float32', [8, 6])

  test('matmul, reshape with 0 and -1, transpose', () => {
    const y = op.matmul(x, w)
    expect(y.shape).toEqual(['batch', 'seq', 6])
    const heads = op.reshape(y, [0, 0, 2, 3])
    expect(heads.shape).toEqual(['batch', 'seq', 2, 3])
    expect(op.transpose(heads, [0, 2, 1, 3]).shape).toEqual(['batch', 2, 'seq', 3])
    const flat = op.reshape(y, [-1, 6])
    expect(flat.shape![1]).toBe(6)
    expect(typeof flat.shape![0]).toBe('string') // a fresh symbol: unknown, but shared downstream
    expect(op.mul(flat, flat).shape).toEqual(flat.shape)
  })

  test('gather, reductions, slice, concat, split, unsqueeze, squeeze', () => {
    const ids = g.input('ids', 'int64', ['batch', 'seq'])
    const table = g.input('table', 'float32', [100, 8])
    expect(op.gather(table, ids).shape).toEqual(['batch', 'seq', 8])
    expect(op.reduceSum(x, [-1], { keepDims: false }).shape).toEqual(['batch', 'seq'])
    expect(op.reduceMean(x, [1]).shape).toEqual(['batch', 1, 8])
    expect(op.slice(x, [2], [6], [2]).shape).toEqual(['batch', 'seq', 4])
    expect(op.concat([x, x], -1).shape).toEqual(['batch', 'seq', 16])
    expect(op.split(x, [3, 5], 2).map((t) => t.shape)).toEqual([
      ['batch', 'seq', 3],
      ['batch', 'seq', 5]
    ])
    expect(op.unsqueeze(x, [1]).shape).toEqual(['batch', 1, 'seq', 8])
    expect(op.squeeze(op.unsqueeze(x, [-1]), [-1]).shape).toEqual(['batch', 'seq', 8])
  })

  test('incompatible static shapes are reported with both shapes', () => {
    const a = g.input('a', 'float32', [2, 3])
    const b = g.input('b', 'float32', [4, 3])
    expect(() => op.add(a, b)).toThrow(/\[2, 3\] and \[4, 3\] do not broadcast/)
    expect(() => op.matmul(a, b)).toThrow(/inner dims differ/)
  })
})

describe('encoding', () => {
  test('generated unknown dims are written as unknown, user symbols as dim_param', () => {
    const g = new GraphBuilder('dims')
    const x = g.input('x', 'float32', ['batch', 4])
    g.output(op.reshape(x, [-1, 2]), 'y')
    const [graph] = messageFields(decodeFields(g.toBytes()), 7)
    const [output] = messageFields(graph, 12)
    const [type] = messageFields(output, 2)
    const [tensorType] = messageFields(type, 1)
    const [shape] = messageFields(tensorType, 2)
    const [first, second] = messageFields(shape, 1)
    expect(first.size).toBe(0) // neither dim_value nor dim_param
    expect(varintField(second, 1)).toEqual([2n])
    const [input] = messageFields(graph, 11)
    const inputDims = messageFields(messageFields(messageFields(messageFields(input, 2)[0], 1)[0], 2)[0], 1)
    expect(stringField(inputDims[0], 2)).toEqual(['batch'])
  })

  test('opset option sets opset_import and the matching ir_version', () => {
    const g = new GraphBuilder('opset21', { opset: 21 })
    g.output(op.neg(g.input('x', 'float32', [1])), 'y')
    const top = decodeFields(g.toBytes())
    expect(varintField(top, 1)).toEqual([10n])
    expect(varintField(messageFields(top, 8)[0], 2)).toEqual([21n])
    expect(() => new GraphBuilder('bad', { opset: 12 })).toThrow(/opset 12 is not supported/)
  })

  test('a graph without outputs cannot be encoded', () => {
    expect(() => new GraphBuilder('empty').toBytes()).toThrow(/no outputs declared/)
  })

  test('a symbolic model accepts different batch and sequence lengths', async () => {
    const g = new GraphBuilder('symbolic')
    const ids = g.input('ids', 'int64', ['batch', 'seq'])
    const table = g.constant('float32', [3, 2], [0, 1, 10, 11, 20, 21])
    g.output(op.reduceSum(op.gather(table, ids), [-1], { keepDims: false }), 'y')
    const session = await createSession(g.toBytes(), { intraOpThreads: 1 })
    const a = await session.run({ ids: hostTensor('int64', [1, 2], BigInt64Array.from([0n, 2n])) })
    const b = await session.run({ ids: hostTensor('int64', [3, 1], BigInt64Array.from([1n, 1n, 0n])) })
    await session.release()
    expect(a.y.dims).toEqual([1, 2])
    expect(Array.from(a.y.data as Float32Array)).toEqual([1, 41])
    expect(b.y.dims).toEqual([3, 1])
    expect(Array.from(b.y.data as Float32Array)).toEqual([21, 21, 1])
  })
})

describe('rewriting a built graph (for passes)', () => {
  test('replaceNode: the output keeps its handle, name and uses; the new nodes take the old place', async () => {
    const g = new GraphBuilder('replace')
    const x = g.input('x', 'float32', [2])
    const y = g.scope('block', () => op.exp(x))
    const z = g.output(op.neg(y), 'z')
    const exp = y.producer!
    g.replaceNode(exp, () => op.mul(op.add(x, 1), 2))
    expect(y.name).toBe(exp.name)
    expect(y.producer?.opType).toBe('Mul')
    expect(y.producer?.name).toMatch(/^block\/Mul_\d+$/)
    expect(g.nodes.map((n) => n.opType)).toEqual(['Add', 'Mul', 'Neg'])
    expect(z.producer!.inputs[0]).toBe(y)
    const session = await createSession(g.toBytes())
    try {
      const out = await session.run({ x: hostTensor('float32', [2], Float32Array.from([1, -3])) })
      expect(Array.from(out.z.data as Float32Array)).toEqual([-4, 4]) // −(x + 1)·2
    } finally {
      await session.release()
    }
  })

  test('replaceNode refuses a replacement of another dtype or shape', () => {
    const g = new GraphBuilder('replace-mismatch')
    const x = g.input('x', 'float32', [2, 3])
    const y = op.exp(x)
    expect(() => g.replaceNode(y.producer!, () => op.cast(x, 'float64'))).toThrow(/cannot stand in for/)
    expect(() => g.replaceNode(y.producer!, () => op.transpose(x))).toThrow(/cannot stand in for/)
  })

  test('removeIfUnread keeps a node whose output is read, removes one whose output is not', () => {
    const g = new GraphBuilder('remove')
    const x = g.input('x', 'float32', [2])
    const read = op.exp(x)
    const unread = op.neg(x)
    g.output(read, 'y')
    expect(g.removeIfUnread(read.producer!)).toBe(false)
    expect(g.removeIfUnread(unread.producer!)).toBe(true)
    expect(g.nodes.map((n) => n.opType)).toEqual(['Exp'])
  })
})

describe('fuseTransposesIntoGemm', () => {
  const opTypes = (g: GraphBuilder) => g.nodes.map((n) => n.opType)

  test('MatMul(Xᵀ, Y) of matrices becomes one Gemm reading X transposed', () => {
    const g = new GraphBuilder('transA')
    const x = g.input('x', 'float32', [4, 3])
    const y = g.input('y', 'float32', [4, 2])
    const product = g.output(op.matmul(op.transpose(x, [1, 0]), y), 'p')
    op.fuseTransposesIntoGemm(g)
    expect(opTypes(g)).toEqual(['Gemm'])
    expect(product.producer!.inputs).toEqual([x, y])
    expect(product.producer!.attrs.transA).toEqual({ kind: 'int', value: 1 })
  })

  test('MatMul against the transpose of a constant weight becomes a Gemm over rows, reshaped back', () => {
    const g = new GraphBuilder('transB')
    const a = g.input('a', 'float32', ['batch', 'seq', 3])
    const w = g.initializer('w', 'float32', [2, 3], new Float32Array(6))
    const product = g.output(op.matmul(a, op.transpose(w, [1, 0])), 'p')
    op.fuseTransposesIntoGemm(g)
    expect(opTypes(g)).not.toContain('Transpose')
    expect(product.producer!.opType).toBe('Reshape')
    expect(product.shape).toEqual(['batch', 'seq', 2])
  })

  test('leaves a trainable weight’s Transpose, an identity permutation and batched products alone', () => {
    const g = new GraphBuilder('untouched')
    const w = g.input('w', 'float32', [2, 3])
    const a = g.input('a', 'float32', [4, 3])
    const x = g.input('x', 'float32', [3, 3])
    const b = g.input('b', 'float32', [5, 3, 2])
    g.output(op.matmul(a, op.transpose(w, [1, 0])), 'trainable')
    g.output(op.matmul(op.transpose(x, [0, 1]), x), 'identity')
    g.output(op.matmul(op.transpose(x, [1, 0]), b), 'batched')
    const before = opTypes(g)
    op.fuseTransposesIntoGemm(g)
    expect(opTypes(g)).toEqual(before)
  })
})

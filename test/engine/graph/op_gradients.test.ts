/**
 * Every op's gradient rule against central finite differences in float64.
 * Tolerances (gradcheck.ts): |analytic − numeric| ≤ 1e-8 + 1e-6·|numeric|, h = 1e-6, unless a
 * case states otherwise. "symbolic" cases declare dims as names so the gradient takes its
 * run-time Shape paths instead of the build-time ones.
 */
import { describe, expect, test } from 'vitest'
import * as op from '../../../src-main/engine/graph/index'
import { checkGradients, seededRandom, type GradCase } from './gradcheck'

/** Values in ±[lo, hi] (away from kinks and poles). */
function awayFromZero(count: number, lo: number, hi: number, seed: number): number[] {
  const random = seededRandom(seed)
  return Array.from({ length: count }, () => (random() < 0.5 ? -1 : 1) * (lo + (hi - lo) * random()))
}

function positive(count: number, lo: number, hi: number, seed: number): number[] {
  return awayFromZero(count, lo, hi, seed).map(Math.abs)
}

const cases: GradCase[] = [
  // --- elementwise binary, with broadcasting and symbolic dims ---
  {
    name: 'Add same shape',
    inputs: [
      { name: 'a', dims: [2, 3] },
      { name: 'b', dims: [2, 3] }
    ],
    build: (_, a, b) => op.add(a, b)
  },
  {
    name: 'Add broadcast [2,3]+[3]',
    inputs: [
      { name: 'a', dims: [2, 3] },
      { name: 'b', dims: [3] }
    ],
    build: (_, a, b) => op.add(a, b)
  },
  {
    name: 'Add broadcast [2,1]+[1,3]',
    ops: { absent: ['Shape', 'NonZero'] },
    inputs: [
      { name: 'a', dims: [2, 1] },
      { name: 'b', dims: [1, 3] }
    ],
    build: (_, a, b) => op.add(a, b)
  },
  {
    name: 'Add broadcast, symbolic dims (run-time reduction axes)',
    ops: { present: ['NonZero'] },
    inputs: [
      { name: 'a', dims: [2, 3], declared: ['n', 3] },
      { name: 'b', dims: [1, 1], declared: ['m', 'k'] }
    ],
    build: (_, a, b) => op.add(a, b)
  },
  {
    name: 'Add with a number',
    inputs: [{ name: 'a', dims: [4] }],
    build: (_, a) => op.mul(op.add(a, 0.5), a)
  },
  {
    name: 'Sub broadcast [2,3]-[2,1]',
    inputs: [
      { name: 'a', dims: [2, 3] },
      { name: 'b', dims: [2, 1] }
    ],
    build: (_, a, b) => op.sub(a, b)
  },
  {
    name: 'Mul broadcast [3,1,2]*[4,1]',
    inputs: [
      { name: 'a', dims: [3, 1, 2] },
      { name: 'b', dims: [4, 1] }
    ],
    build: (_, a, b) => op.mul(a, b)
  },
  {
    name: 'Div broadcast [2,3]/[3]',
    inputs: [
      { name: 'a', dims: [2, 3] },
      { name: 'b', dims: [3], values: awayFromZero(3, 0.5, 1.5, 7) }
    ],
    build: (_, a, b) => op.div(a, b)
  },
  {
    name: 'Max broadcast',
    inputs: [
      { name: 'a', dims: [2, 3] },
      { name: 'b', dims: [3] }
    ],
    build: (_, a, b) => op.max(a, b)
  },
  {
    name: 'Min broadcast',
    inputs: [
      { name: 'a', dims: [2, 3] },
      { name: 'b', dims: [2, 1] }
    ],
    build: (_, a, b) => op.min(a, b)
  },
  {
    name: 'Sum of three with broadcasting',
    inputs: [
      { name: 'a', dims: [2, 3] },
      { name: 'b', dims: [3] },
      { name: 'c', dims: [2, 1] }
    ],
    build: (_, a, b, c) => op.sum([a, b, c])
  },
  // --- elementwise unary ---
  { name: 'Neg', inputs: [{ name: 'x', dims: [5] }], build: (_, x) => op.neg(x) },
  { name: 'Pow x^3', inputs: [{ name: 'x', dims: [5] }], build: (_, x) => op.pow(x, 3) },
  { name: 'Pow x^2', inputs: [{ name: 'x', dims: [5] }], build: (_, x) => op.pow(x, 2) },
  {
    name: 'Pow x^-0.5',
    inputs: [{ name: 'x', dims: [5], values: positive(5, 0.5, 2, 3) }],
    build: (_, x) => op.pow(x, -0.5)
  },
  {
    name: 'Pow with a tensor exponent (both inputs)',
    inputs: [
      { name: 'x', dims: [2, 3], values: positive(6, 0.5, 2, 4) },
      { name: 'p', dims: [3] }
    ],
    build: (_, x, p) => op.pow(x, p)
  },
  {
    name: 'Sqrt',
    inputs: [{ name: 'x', dims: [5], values: positive(5, 0.3, 2, 5) }],
    build: (_, x) => op.sqrt(x)
  },
  {
    name: 'Reciprocal',
    inputs: [{ name: 'x', dims: [5], values: awayFromZero(5, 0.5, 2, 6) }],
    build: (_, x) => op.reciprocal(x)
  },
  { name: 'Exp', inputs: [{ name: 'x', dims: [5] }], build: (_, x) => op.exp(x) },
  {
    name: 'Log',
    inputs: [{ name: 'x', dims: [5], values: positive(5, 0.3, 2, 8) }],
    build: (_, x) => op.log(x)
  },
  { name: 'Sigmoid', inputs: [{ name: 'x', dims: [5] }], build: (_, x) => op.sigmoid(x) },
  { name: 'Tanh', inputs: [{ name: 'x', dims: [5] }], build: (_, x) => op.tanh(x) },
  {
    name: 'Relu',
    inputs: [{ name: 'x', dims: [6], values: awayFromZero(6, 0.1, 1, 9) }],
    build: (_, x) => op.relu(x)
  },
  { name: 'Sin', inputs: [{ name: 'x', dims: [5] }], build: (_, x) => op.sin(x) },
  { name: 'Cos', inputs: [{ name: 'x', dims: [5] }], build: (_, x) => op.cos(x) },
  // --- MatMul ---
  {
    name: 'MatMul [2,3]@[3,4]',
    ops: { present: ['Gemm'] },
    inputs: [
      { name: 'a', dims: [2, 3] },
      { name: 'b', dims: [3, 4] }
    ],
    build: (_, a, b) => op.matmul(a, b)
  },
  {
    name: 'MatMul by a constant weight (Gemm reads it transposed, no Transpose)',
    inputs: [{ name: 'a', dims: [2, 2, 3], declared: ['batch', 'seq', 3] }],
    build: (g, a) => op.matmul(a, g.constant('float64', [3, 2], [0.5, -1, 2, 0.25, -0.75, 1.5])),
    ops: { present: ['Gemm'], absent: ['Transpose'] }
  },
  {
    name: 'MatMul batched [2,2,3]@[3,4] (b broadcast over batch)',
    ops: { present: ['Gemm'] },
    inputs: [
      { name: 'a', dims: [2, 2, 3] },
      { name: 'b', dims: [3, 4] }
    ],
    build: (_, a, b) => op.matmul(a, b)
  },
  {
    name: 'MatMul [2,1,2,3]@[3,3,2] (both broadcast)',
    ops: { present: ['Transpose'] },
    inputs: [
      { name: 'a', dims: [2, 1, 2, 3] },
      { name: 'b', dims: [3, 3, 2] }
    ],
    build: (_, a, b) => op.matmul(a, b)
  },
  {
    name: 'MatMul symbolic batch',
    inputs: [
      { name: 'a', dims: [2, 2, 3], declared: ['batch', 'seq', 3] },
      { name: 'b', dims: [3, 2] }
    ],
    build: (_, a, b) => op.matmul(a, b)
  },
  {
    name: 'MatMul [3]@[3,4]',
    inputs: [
      { name: 'a', dims: [3] },
      { name: 'b', dims: [3, 4] }
    ],
    build: (_, a, b) => op.matmul(a, b)
  },
  {
    name: 'MatMul [2,3]@[3]',
    inputs: [
      { name: 'a', dims: [2, 3] },
      { name: 'b', dims: [3] }
    ],
    build: (_, a, b) => op.matmul(a, b)
  },
  {
    name: 'MatMul [3]@[3]',
    inputs: [
      { name: 'a', dims: [3] },
      { name: 'b', dims: [3] }
    ],
    build: (_, a, b) => op.matmul(a, b)
  },
  {
    name: 'MatMul symbolic inner dims (batched path, run-time sizes)',
    inputs: [
      { name: 'a', dims: [2, 2, 3], declared: ['b', 'm', 'k'] },
      { name: 'b', dims: [2, 3, 2], declared: ['b', 'k', 'n'] }
    ],
    build: (_, a, b) => op.matmul(a, b)
  },
  {
    name: 'MatMul [2,3,4]@[4,2] with symbolic weight dims (Gemm path, run-time row width)',
    inputs: [
      { name: 'a', dims: [2, 3, 4], declared: ['b', 's', 'k'] },
      { name: 'b', dims: [4, 2], declared: ['k', 'n'] }
    ],
    build: (_, a, b) => op.matmul(a, b),
    ops: { present: ['Gemm'] }
  },
  {
    name: 'Gemm',
    inputs: [
      { name: 'a', dims: [2, 3] },
      { name: 'b', dims: [3, 4] }
    ],
    build: (_, a, b) => op.gemm(a, b)
  },
  {
    name: 'Gemm transA, alpha, beta, broadcast C [4]',
    inputs: [
      { name: 'a', dims: [3, 2] },
      { name: 'b', dims: [3, 4] },
      { name: 'c', dims: [4] }
    ],
    build: (_, a, b, c) => op.gemm(a, b, c, { transA: true, alpha: 0.5, beta: 2 })
  },
  {
    name: 'Gemm transB, C [2,1]',
    inputs: [
      { name: 'a', dims: [2, 3] },
      { name: 'b', dims: [4, 3] },
      { name: 'c', dims: [2, 1] }
    ],
    build: (_, a, b, c) => op.gemm(a, b, c, { transB: true })
  },
  {
    name: 'Gemm transA and transB, alpha',
    inputs: [
      { name: 'a', dims: [3, 2] },
      { name: 'b', dims: [4, 3] }
    ],
    build: (_, a, b) => op.gemm(a, b, null, { transA: true, transB: true, alpha: -1.5 })
  },
  // --- reductions ---
  {
    name: 'ReduceSum axis 1, keepdims 0',
    inputs: [{ name: 'x', dims: [2, 3, 2] }],
    build: (_, x) => op.reduceSum(x, [1], { keepDims: false })
  },
  {
    name: 'ReduceSum axes [0,-1], keepdims 1',
    inputs: [{ name: 'x', dims: [2, 3, 2] }],
    build: (_, x) => op.reduceSum(x, [0, -1], { keepDims: true })
  },
  {
    name: 'ReduceSum all',
    inputs: [{ name: 'x', dims: [2, 3] }],
    build: (_, x) => op.reduceSum(x, undefined, { keepDims: false })
  },
  {
    name: 'ReduceMean axis -1, keepdims 0',
    inputs: [{ name: 'x', dims: [2, 3] }],
    build: (_, x) => op.reduceMean(x, [-1], { keepDims: false })
  },
  {
    name: 'ReduceMean symbolic dims (run-time count)',
    ops: { present: ['Size'] },
    inputs: [{ name: 'x', dims: [2, 3], declared: ['n', 'm'] }],
    build: (_, x) => op.reduceMean(x, [0], { keepDims: true })
  },
  {
    name: 'ReduceMax axis 1, keepdims 0',
    inputs: [{ name: 'x', dims: [3, 4] }],
    build: (_, x) => op.reduceMax(x, [1], { keepDims: false })
  },
  {
    name: 'ReduceMax all, keepdims 1',
    inputs: [{ name: 'x', dims: [2, 3] }],
    build: (_, x) => op.reduceMax(x)
  },
  // --- softmax family ---
  { name: 'Softmax axis -1', inputs: [{ name: 'x', dims: [2, 4] }], build: (_, x) => op.softmax(x, -1) },
  { name: 'Softmax axis 0', inputs: [{ name: 'x', dims: [3, 2] }], build: (_, x) => op.softmax(x, 0) },
  {
    name: 'LogSoftmax axis -1',
    inputs: [{ name: 'x', dims: [2, 4] }],
    build: (_, x) => op.logSoftmax(x, -1)
  },
  {
    name: 'LogSoftmax axis 1 of 3',
    inputs: [{ name: 'x', dims: [2, 3, 2] }],
    build: (_, x) => op.logSoftmax(x, 1)
  },
  // --- gathers ---
  {
    name: 'Gather axis 0 with repeated rows (embedding)',
    ops: { present: ['ScatterND'], absent: ['Range'] },
    inputs: [
      { name: 'table', dims: [4, 3] },
      { name: 'ids', dims: [2, 3], dtype: 'int64', values: [0, 2, 0, 3, 2, 0] }
    ],
    build: (_, table, ids) => op.gather(table, ids, 0)
  },
  {
    name: 'Gather axis 0 with scalar index',
    inputs: [
      { name: 'table', dims: [3, 2] },
      { name: 'id', dims: [], dtype: 'int64', values: [1] }
    ],
    build: (_, table, id) => op.gather(table, id, 0)
  },
  {
    name: 'Gather axis 1 with repeats',
    ops: { present: ['ScatterND', 'Range'] },
    inputs: [
      { name: 'x', dims: [2, 4] },
      { name: 'ids', dims: [3], dtype: 'int64', values: [3, 1, 3] }
    ],
    build: (_, x, ids) => op.gather(x, ids, 1)
  },
  {
    name: 'GatherElements axis 1, one pick per row (one-hot path)',
    ops: { absent: ['ScatterND'] },
    inputs: [
      { name: 'x', dims: [3, 5] },
      { name: 'ids', dims: [3, 1], dtype: 'int64', values: [4, 0, 2] }
    ],
    build: (_, x, ids) => op.gatherElements(x, ids, 1)
  },
  {
    name: 'GatherElements axis 1, symbolic rows (one-hot path, run-time axis length)',
    ops: { absent: ['ScatterND'] },
    inputs: [
      { name: 'x', dims: [3, 5], declared: ['n', 'v'] },
      { name: 'ids', dims: [3, 1], declared: ['n', 1], dtype: 'int64', values: [1, 1, 3] }
    ],
    build: (_, x, ids) => op.gatherElements(x, ids, 1)
  },
  {
    name: 'GatherElements axis 0 with repeats (scatter path)',
    ops: { present: ['ScatterND'] },
    inputs: [
      { name: 'x', dims: [3, 2] },
      { name: 'ids', dims: [4, 2], dtype: 'int64', values: [0, 2, 0, 1, 2, 2, 0, 0] }
    ],
    build: (_, x, ids) => op.gatherElements(x, ids, 0)
  },
  // --- layout ---
  { name: 'Reshape', inputs: [{ name: 'x', dims: [2, 3] }], build: (_, x) => op.reshape(x, [3, 2]) },
  {
    name: 'Reshape with 0 and -1, symbolic',
    inputs: [{ name: 'x', dims: [2, 6], declared: ['b', 6] }],
    build: (_, x) => op.reshape(x, [0, -1, 2])
  },
  {
    name: 'Transpose [1,2,0]',
    inputs: [{ name: 'x', dims: [2, 3, 4] }],
    build: (_, x) => op.transpose(x, [1, 2, 0])
  },
  {
    name: 'Transpose default (reverse)',
    inputs: [{ name: 'x', dims: [2, 3] }],
    build: (_, x) => op.transpose(x)
  },
  {
    name: 'Slice static (pad path)',
    ops: { present: ['Pad'], absent: ['ScatterND'] },
    inputs: [{ name: 'x', dims: [3, 5] }],
    build: (_, x) => op.slice(x, [1, -4], [3, -1], [0, 1])
  },
  {
    name: 'Slice symbolic [1:-1] (pad path)',
    ops: { present: ['Pad'], absent: ['ScatterND'] },
    inputs: [{ name: 'x', dims: [2, 5], declared: ['b', 's'] }],
    build: (_, x) => op.slice(x, [1], [-1], [1])
  },
  {
    name: 'Slice with step 2 (scatter path)',
    ops: { present: ['ScatterND'] },
    inputs: [{ name: 'x', dims: [2, 5] }],
    build: (_, x) => op.slice(x, [0], [5], [1], [2])
  },
  {
    name: 'Slice with negative step (scatter path)',
    ops: { present: ['ScatterND'] },
    inputs: [{ name: 'x', dims: [4, 2] }],
    build: (_, x) => op.slice(x, [-1], [-5], [0], [-1])
  },
  {
    name: 'Pad',
    inputs: [{ name: 'x', dims: [2, 3] }],
    build: (_, x) => op.pad(x, [1, 0, 0, 2])
  },
  {
    name: 'Concat axis 1 (static sizes)',
    inputs: [
      { name: 'a', dims: [2, 1] },
      { name: 'b', dims: [2, 3] }
    ],
    build: (_, a, b) => op.concat([a, b, a], 1)
  },
  {
    name: 'Concat symbolic (run-time sizes)',
    ops: { present: ['Shape'] },
    inputs: [
      { name: 'a', dims: [2, 2], declared: ['n', 'p'] },
      { name: 'b', dims: [1, 2], declared: ['m', 'p'] }
    ],
    build: (_, a, b) => op.concat([a, b], 0)
  },
  {
    name: 'Split sizes, all outputs used',
    inputs: [{ name: 'x', dims: [2, 5] }],
    build: (_, x) => {
      const [p, q] = op.split(x, [2, 3], 1)
      return op.concat([op.mul(q, q), p], 1)
    }
  },
  {
    name: 'Split equal parts, one output unused (zeros for it)',
    ops: { present: ['ConstantOfShape'] },
    inputs: [{ name: 'x', dims: [4, 2] }],
    build: (_, x) => op.mul(op.split(x, 2, 0)[1], 3)
  },
  {
    name: 'Expand [3,1] → [2,3,4]',
    inputs: [{ name: 'x', dims: [3, 1] }],
    build: (_, x) => op.expand(x, [2, 3, 4])
  },
  { name: 'Unsqueeze', inputs: [{ name: 'x', dims: [2, 3] }], build: (_, x) => op.unsqueeze(x, [0, -1]) },
  { name: 'Squeeze', inputs: [{ name: 'x', dims: [2, 1, 3] }], build: (_, x) => op.squeeze(x, [1]) },
  {
    name: 'Where with broadcast condition',
    inputs: [
      { name: 'c', dims: [3], dtype: 'bool', values: [1, 0, 1] },
      { name: 'x', dims: [2, 3] },
      { name: 'y', dims: [2, 1] }
    ],
    build: (_, c, x, y) => op.where(c, x, y)
  },
  {
    name: 'Where selecting a number',
    inputs: [
      { name: 'c', dims: [2, 2], dtype: 'bool', values: [1, 0, 0, 1] },
      { name: 'x', dims: [2, 2] }
    ],
    build: (_, c, x) => op.where(c, x, -2)
  },
  {
    name: 'Cast float32 → float64 (float32 input, looser tolerance)',
    inputs: [{ name: 'x', dims: [4], dtype: 'float32' }],
    build: (_, x) => {
      const y = op.cast(x, 'float64')
      return op.mul(y, y)
    },
    rtol: 1e-3,
    atol: 1e-5,
    h: 1e-3
  },
  { name: 'Identity', inputs: [{ name: 'x', dims: [3] }], build: (_, x) => op.mul(op.identity(x), x) },
  {
    name: 'Trilu lower, k=1',
    inputs: [{ name: 'x', dims: [2, 3, 3] }],
    build: (_, x) => op.trilu(x, { upper: false, k: 1 })
  },
  { name: 'Trilu upper', inputs: [{ name: 'x', dims: [3, 4] }], build: (_, x) => op.trilu(x) },
  // --- accumulation ---
  {
    name: 'A value used three times accumulates',
    inputs: [{ name: 'x', dims: [2, 2] }],
    build: (_, x) => op.add(op.mul(x, x), op.exp(x))
  },
  {
    name: 'Gradient through a shared intermediate',
    inputs: [
      { name: 'x', dims: [3] },
      { name: 'w', dims: [3] }
    ],
    build: (_, x, w) => {
      const h = op.tanh(op.mul(x, w))
      return op.add(op.mul(h, h), op.sigmoid(h))
    }
  }
]

describe('op gradients vs central finite differences (float64)', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const result = await checkGradients(c)
    expect(result.checked).toBeGreaterThan(0)
  })
})

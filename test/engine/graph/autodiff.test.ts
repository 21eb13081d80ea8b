import { readdirSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, describe, expect, test } from 'vitest'
import * as op from '../../../src-main/engine/graph/index'
import {
  createOpRegistry,
  defineOp,
  GraphBuilder,
  gradients,
  NOT_DIFFERENTIABLE,
  type GradientContext,
  type GradientRule
} from '../../../src-main/engine/graph/index'
import { rmsNorm } from '../../../src-main/engine/models/blocks'
import { createSession, hostTensor } from '../../../src-main/engine/runtime/session'
import { runGraph } from '../../helpers/run-graph'

const f64 = (dims: number[], values: number[]) => hostTensor('float64', dims, Float64Array.from(values))

describe('stop-gradient', () => {
  test('x · stopGradient(x) has gradient x, not 2x', async () => {
    const g = new GraphBuilder('stop')
    const x = g.input('x', 'float64', [3])
    const loss = op.reduceSum(op.mul(x, op.stopGradient(x)), undefined, { keepDims: false })
    g.output(gradients(loss, [x])[0], 'dx')
    const out = await runGraph(g, { x: f64([3], [0.5, -2, 3]) })
    expect(Array.from(out.dx.data as Float64Array)).toEqual([0.5, -2, 3])
  })

  test('a detached weight (DFT-style token weighting) scales the gradient without being differentiated', async () => {
    // loss = Σ w · p with w = stopGradient(p), p = sigmoid(x): d/dx = w · p(1-p)
    const g = new GraphBuilder('dft')
    const x = g.input('x', 'float64', [2])
    const p = op.sigmoid(x)
    const loss = op.reduceSum(op.mul(op.stopGradient(p), p), undefined, { keepDims: false })
    g.output(gradients(loss, [x])[0], 'dx')
    const xs = [0.3, -1.2]
    const out = await runGraph(g, { x: f64([2], xs) })
    const dx = out.dx.data as Float64Array
    xs.forEach((v, i) => {
      const s = 1 / (1 + Math.exp(-v))
      expect(dx[i]).toBeCloseTo(s * s * (1 - s), 14)
    })
  })
})

describe('gradients()', () => {
  test('a tensor the loss does not depend on gets zeros of its shape', async () => {
    const g = new GraphBuilder('unrelated')
    const x = g.input('x', 'float64', [2])
    const y = g.input('y', 'float64', [2, 3])
    const [, dy] = gradients(op.reduceSum(op.mul(x, x), undefined, { keepDims: false }), [x, y])
    g.output(dy, 'dy')
    const out = await runGraph(g, { x: f64([2], [1, 2]), y: f64([2, 3], [1, 2, 3, 4, 5, 6]) })
    expect(out.dy.dims).toEqual([2, 3])
    expect(Array.from(out.dy.data as Float64Array)).toEqual([0, 0, 0, 0, 0, 0])
  })

  test('gradient with respect to an intermediate value', async () => {
    const g = new GraphBuilder('intermediate')
    const x = g.input('x', 'float64', [2])
    const h = op.mul(x, 3)
    const [dh, dx] = gradients(op.reduceSum(op.mul(h, h), undefined, { keepDims: false }), [h, x])
    g.output(dh, 'dh')
    g.output(dx, 'dx')
    const out = await runGraph(g, { x: f64([2], [1, -2]) })
    expect(Array.from(out.dh.data as Float64Array)).toEqual([6, -12]) // 2h
    expect(Array.from(out.dx.data as Float64Array)).toEqual([18, -36]) // 2h · 3
  })

  test('uses of one value accumulate into a single Sum', () => {
    const g = new GraphBuilder('accumulate')
    const x = g.input('x', 'float64', [2])
    const loss = op.reduceSum(op.add(op.add(op.mul(x, 2), op.exp(x)), op.neg(x)), undefined, {
      keepDims: false
    })
    const before = g.nodes.length
    gradients(loss, [x])
    const sums = g.nodes.slice(before).filter((n) => n.opType === 'Sum')
    expect(sums).toHaveLength(1)
    expect(sums[0].inputs).toHaveLength(3)
  })

  test('a frozen weight gets no gradient nodes', () => {
    const g = new GraphBuilder('frozen')
    const x = g.input('x', 'float32', ['batch', 4])
    const w = g.initializer('w', 'float32', [4, 3], new Float32Array(12))
    const before = g.nodes.length
    gradients(op.reduceSum(op.matmul(x, w), undefined, { keepDims: false }), [x])
    op.fuseTransposesIntoGemm(g)
    const backward = g.nodes.slice(before)
    expect(backward.filter((n) => n.opType === 'Gemm')).toHaveLength(1) // dx only
    expect(backward.some((n) => n.opType === 'Transpose')).toBe(false)
  })

  test('backward nodes are named under the grad/ scope', () => {
    const g = new GraphBuilder('scope')
    const x = g.input('x', 'float64', [2])
    const loss = op.reduceSum(op.exp(x), undefined, { keepDims: false })
    const before = g.nodes.length
    gradients(loss, [x])
    expect(g.nodes.length).toBeGreaterThan(before)
    expect(g.nodes.slice(before).every((n) => n.name.startsWith('grad/'))).toBe(true)
  })

  test('throws naming the op when a path has no gradient rule', () => {
    const g = new GraphBuilder('no-rule')
    const x = g.input('x', 'float64', [3])
    const ids = g.int64s([0, 2])
    const scattered = op.scatterND(op.zerosLike(x), op.unsqueeze(ids, [-1]), op.gather(x, ids))
    const loss = op.reduceSum(scattered, undefined, { keepDims: false })
    expect(() => gradients(loss, [x])).toThrow(/no gradient rule for op "ScatterND"/)
  })

  test('rejects integer wrt and integer losses', () => {
    const g = new GraphBuilder('ints')
    const i = g.input('i', 'int64', [2])
    const x = g.input('x', 'float64', [2])
    expect(() => gradients(op.reduceSum(x), [i])).toThrow(/cannot differentiate with respect to i/)
    expect(() => gradients(op.reduceSum(i), [x])).toThrow(/loss .* is not a float/)
  })

  test('registering an op twice throws with its name', () => {
    const rule = defineOp({ opType: 'Twice', gradient: 'non-differentiable' })
    expect(() => createOpRegistry([rule, defineOp({ ...rule })])).toThrow(/op "Twice" is registered twice/)
    expect(() => createOpRegistry(op.OP_DEFS)).not.toThrow()
  })
})

describe('gradient rules answer for every input', () => {
  /** loss = Σ x·y, differentiated with Mul's rule replaced by `rule`. */
  function differentiateMulWith(rule: GradientRule, wrt: 'x' | 'x and y') {
    const g = new GraphBuilder('rule-answers')
    const x = g.input('x', 'float64', [2])
    const y = g.input('y', 'float64', [2])
    const loss = op.reduceSum(op.mul(x, y), undefined, { keepDims: false })
    const registry = createOpRegistry([
      ...op.OP_DEFS.filter((def) => def.opType !== 'Mul'),
      defineOp({ opType: 'Mul', gradient: rule })
    ])
    return () => gradients(loss, wrt === 'x' ? [x] : [x, y], { registry })
  }

  test('a rule that answers for fewer inputs than its node has throws, naming the op and the node', () => {
    const shortRule: GradientRule = ({ grad }) => [() => grad]
    expect(differentiateMulWith(shortRule, 'x')).toThrow(
      /rule for Mul \(Mul_\d+\) answered for 1 inputs, but the node has 2/
    )
  })

  test('a missing answer cannot stand for "not differentiable"', () => {
    // What a JavaScript rule, or one cast past the types, could still return.
    const nullAnswer = (({ grad }: GradientContext) => [() => grad, null]) as unknown as GradientRule
    expect(differentiateMulWith(nullAnswer, 'x')).toThrow(
      /rule for Mul \(Mul_\d+\) gave null for input 1, expected a gradient builder or NOT_DIFFERENTIABLE/
    )
  })

  test('NOT_DIFFERENTIABLE is accepted where no gradient is asked for, refused where one is', () => {
    const rule: GradientRule = ({ inputs: [, y], grad }) => [() => op.mul(grad, y!), NOT_DIFFERENTIABLE]
    expect(differentiateMulWith(rule, 'x')).not.toThrow()
    expect(differentiateMulWith(rule, 'x and y')).toThrow(
      /says input 1 \(y: float64\[2\]\) is not differentiable/
    )
  })
})

describe('registry', () => {
  const graphDir = fileURLToPath(new URL('../../../src-main/engine/graph/', import.meta.url))
  /** ops/ modules that build no op of their own: shared plumbing, and ScatterND (used only inside gradients). */
  const OPS_WITHOUT_RULES = ['common.ts', 'index.ts', 'reduce_common.ts', 'scatter_nd.ts']

  test('every op module has a gradient file, and every gradient file has an op module', () => {
    const ops = readdirSync(join(graphDir, 'ops')).filter((f) => !OPS_WITHOUT_RULES.includes(f))
    const grads = readdirSync(join(graphDir, 'grads')).filter((f) => f.endsWith('_grad.ts'))
    expect(grads.map((f) => f.replace(/_grad\.ts$/, '.ts')).sort()).toEqual(ops.sort())
  })

  test('OP_DEFS registers exactly the rules the gradient files define', async () => {
    const defined: unknown[] = []
    for (const file of readdirSync(join(graphDir, 'grads')).filter((f) => f.endsWith('_grad.ts'))) {
      const module = (await import(pathToFileURL(join(graphDir, 'grads', file)).href)) as Record<
        string,
        unknown
      >
      defined.push(...Object.values(module))
    }
    expect(new Set(defined)).toEqual(new Set(op.OP_DEFS))
  })
})

describe('determinism', () => {
  function buildStep(): Uint8Array {
    const g = new GraphBuilder('step')
    const ids = g.input('ids', 'int64', ['batch', 'seq'])
    const embed = g.input('embed', 'float32', [10, 4])
    const norm = g.constant('float32', [4], [1, 1, 1, 1])
    const h = g.scope('layer.0', () => rmsNorm(op.gather(embed, ids), norm, 1e-5))
    const loss = op.reduceMean(op.mul(h, h), undefined, { keepDims: false })
    const [dEmbed] = gradients(loss, [embed])
    g.output(loss, 'loss')
    g.output(dEmbed, 'grad_embed')
    return g.toBytes()
  }

  test('the same build gives the same bytes', () => {
    expect(Buffer.from(buildStep()).equals(Buffer.from(buildStep()))).toBe(true)
  })
})

describe('end to end: the index.ts example trains', () => {
  const dirs: string[] = []
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  })

  test('SGD on the compiled step lowers the loss; the embedding lives in external data', async () => {
    const vocab = 6
    const dim = 8
    const random = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1
    const r = random(7)
    const embedWeights = Float32Array.from({ length: vocab * dim }, () => r() * 0.5)
    const g = new GraphBuilder('tiny-lm')
    const ids = g.input('input_ids', 'int64', ['batch', 'seq'])
    const labels = g.input('labels', 'int64', ['batch', 'seq'])
    const embed = g.initializer('embed', 'float32', [vocab, dim], embedWeights)
    const w = g.input('w', 'float32', [dim, vocab])
    const logits = op.reshape(op.matmul(op.gather(embed, ids), w), [-1, vocab])
    const picked = op.gatherElements(op.logSoftmax(logits, -1), op.reshape(labels, [-1, 1]), 1)
    const loss = op.neg(op.reduceMean(picked, undefined, { keepDims: false }))
    const [dw] = gradients(loss, [w])
    g.output(loss, 'loss')
    g.output(dw, 'grad_w')
    const dir = await mkdtemp(join(tmpdir(), 'tiny-lm-'))
    dirs.push(dir)
    const saved = await g.save(dir, { externalThreshold: 64 })
    expect(saved.dataPath).toBe(join(dir, 'model.onnx.data'))
    expect((await readdir(dir)).sort()).toEqual(['model.onnx', 'model.onnx.data'])

    const session = await createSession(saved.modelPath, { intraOpThreads: 1 })
    const weights = Float32Array.from({ length: dim * vocab }, () => r() * 0.1)
    const feeds = {
      input_ids: hostTensor('int64', [2, 3], BigInt64Array.from([0n, 1n, 2n, 3n, 4n, 5n])),
      labels: hostTensor('int64', [2, 3], BigInt64Array.from([1n, 2n, 3n, 4n, 5n, 0n]))
    }
    const losses: number[] = []
    for (let step = 0; step < 5; step++) {
      const out = await session.run({ ...feeds, w: hostTensor('float32', [dim, vocab], weights) })
      losses.push((out.loss.data as Float32Array)[0])
      const grad = out.grad_w.data as Float32Array
      for (let i = 0; i < weights.length; i++) weights[i] -= 0.5 * grad[i]
    }
    await session.release()
    for (let i = 1; i < losses.length; i++) expect(losses[i]).toBeLessThan(losses[i - 1])
  })
})

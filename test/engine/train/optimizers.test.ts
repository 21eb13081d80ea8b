/**
 * In-graph optimizers against (1) a plain-JS float64 transcription of the algorithms as the torch
 * docs state them and (2) trajectories printed by torch itself (torch_optimizer_reference.py, pinned
 * below), five steps each with a changing learning rate, plus clipping, autodiff integration and
 * gradient accumulation.
 */
import { describe, expect, test } from 'vitest'
import {
  add,
  gradients,
  GraphBuilder,
  matmul,
  mul,
  reduceSum,
  sub,
  div,
  type Tensor
} from '../../../src-main/engine/graph/index'
import type { DType } from '../../../src-main/engine/onnx/dtype'
import { createSession, hostTensor, type HostTensor } from '../../../src-main/engine/runtime/session'
import {
  accumulateGradients,
  declareStepScalars,
  optimizerStateNames,
  optimizerStep,
  type OptimizerConfig
} from '../../../src-main/engine/train/optimizers'

const LRS = [1e-2, 2e-2, 5e-3, 1e-2, 3e-2]
const SHAPES = [[3], [2, 2]]
const INITIAL = [
  [0.5, -1.0, 2.0],
  [0.1, 0.2, 0.3, -0.4]
]

/** Element i of tensor t's gradient at step k (the same formula as the Python script). */
function gradValue(t: number, i: number, k: number): number {
  return 1.5 * Math.sin(1.3 * (i + 1) + 0.7 * k + 0.4 * t)
}

// Printed by torch_optimizer_reference.py with torch 1.13 (float64).
const TORCH = {
  adamw: {
    p1: [0.4494503407395762, -0.9816097665970311, 2.046729875105461],
    p2: [0.06656083554889866, 0.23739612354799008, 0.3489994586187865, -0.3988463086894079]
  },
  adamwClip: {
    p1: [0.4579741985843983, -0.9829794079272746, 2.0590850108389636],
    p2: [0.07358951370873157, 0.24192471610550967, 0.3470387878621364, -0.4083435563367257]
  },
  sgdMomentum: {
    p1: [0.36585258997492176, -0.8968022648588759, 2.182719881888672],
    p2: [0.03243789232107298, 0.3572927546392094, 0.45107251925913233, -0.47568083527469834]
  },
  sgd: {
    p1: [0.4957179418405188, -0.9475508802347341, 2.03234221435868],
    p2: [0.11771600111749891, 0.2557096179690632, 0.31208851398219634, -0.4492422913089642]
  },
  norms: [2.965443427179704, 2.804607983877553, 2.6368592498957133, 2.751502084823129, 2.9484831616663647]
}

const ADAMW: OptimizerConfig = { kind: 'adamw', betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.1 }
const ADAMW_CLIP: OptimizerConfig = { kind: 'adamw', betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0 }
const SGD_MOMENTUM: OptimizerConfig = { kind: 'sgd', momentum: 0.9, weightDecay: 0.01 }
const SGD: OptimizerConfig = { kind: 'sgd', momentum: 0, weightDecay: 0 }

// ---- plain-JS reference, written from the torch docs' pseudo-code --------------------------------

interface RefTensor {
  p: number[]
  state: number[][]
}

function referenceStep(
  config: OptimizerConfig,
  tensors: RefTensor[],
  grads: number[][],
  lr: number,
  t: number
) {
  for (const [j, tensor] of tensors.entries()) {
    const g = grads[j]
    const { p } = tensor
    if (config.kind === 'adamw') {
      const [b1, b2] = config.betas
      const [m, v] = tensor.state
      for (let i = 0; i < p.length; i++) {
        p[i] -= lr * config.weightDecay * p[i] // θ ← θ − γλθ
        m[i] = b1 * m[i] + (1 - b1) * g[i]
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
        const mHat = m[i] / (1 - b1 ** t)
        const vHat = v[i] / (1 - b2 ** t)
        p[i] -= (lr * mHat) / (Math.sqrt(vHat) + config.eps)
      }
    } else {
      for (let i = 0; i < p.length; i++) {
        let d = g[i] + config.weightDecay * p[i]
        if (config.momentum > 0) {
          const b = tensor.state[0]
          b[i] = t === 1 ? d : config.momentum * b[i] + d // torch: b ← d on the first step
          d = b[i]
        }
        p[i] -= lr * d
      }
    }
  }
}

/** clip_grad_norm_ from its docs: returns the total norm, scales the gradients in place. */
function referenceClip(grads: number[][], maxNorm: number): number {
  const norm = Math.sqrt(grads.flat().reduce((s, g) => s + g * g, 0))
  if (maxNorm > 0) {
    const coef = Math.min(maxNorm / (norm + 1e-6), 1)
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= coef
  }
  return norm
}

function referenceRun(config: OptimizerConfig, maxNorm: number) {
  const stateCount = optimizerStateNames(config).length
  const tensors = INITIAL.map((p) => ({
    p: [...p],
    state: Array.from({ length: stateCount }, () => p.map(() => 0))
  }))
  const norms: number[] = []
  for (let k = 0; k < 5; k++) {
    const grads = INITIAL.map((p, t) => p.map((_, i) => gradValue(t, i, k)))
    norms.push(referenceClip(grads, maxNorm))
    referenceStep(config, tensors, grads, LRS[k], k + 1)
  }
  return { params: tensors.map((t) => t.p), norms }
}

// ---- the graph ------------------------------------------------------------------------------------

function floatArray(dtype: DType, values: readonly number[]): Float32Array | Float64Array {
  return dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values)
}

function scalar(value: number): HostTensor {
  return hostTensor('float64', [], Float64Array.from([value]))
}

async function graphRun(config: OptimizerConfig, maxNorm: number, dtype: 'float32' | 'float64') {
  const g = new GraphBuilder('optimizer-step')
  const scalars = declareStepScalars(g)
  const stateNames = optimizerStateNames(config)
  const tensors = SHAPES.map((dims, t) => ({
    param: g.input(`p${t}`, dtype, dims),
    grad: g.input(`g${t}`, dtype, dims),
    state: stateNames.map((name) => g.input(`${name}${t}`, dtype, dims))
  }))
  const { updates, gradNorm } = optimizerStep(config, tensors, scalars)
  updates.forEach((u, t) => {
    g.output(u.param, `p${t}.next`)
    u.state.forEach((s, j) => g.output(s, `${stateNames[j]}${t}.next`))
  })
  g.output(gradNorm, 'grad_norm')
  const session = await createSession(g.toBytes(), { intraOpThreads: 1 })

  let params = INITIAL.map((p) => floatArray(dtype, p))
  let states = INITIAL.map((p) =>
    stateNames.map(() =>
      floatArray(
        dtype,
        p.map(() => 0)
      )
    )
  )
  const norms: number[] = []
  for (let k = 0; k < 5; k++) {
    const feeds: Record<string, HostTensor> = {
      lr: scalar(LRS[k]),
      step: scalar(k + 1),
      max_grad_norm: scalar(maxNorm)
    }
    SHAPES.forEach((dims, t) => {
      feeds[`p${t}`] = hostTensor(dtype, dims, params[t])
      feeds[`g${t}`] = hostTensor(
        dtype,
        dims,
        floatArray(
          dtype,
          INITIAL[t].map((_, i) => gradValue(t, i, k))
        )
      )
      stateNames.forEach((name, j) => (feeds[`${name}${t}`] = hostTensor(dtype, dims, states[t][j])))
    })
    const out = await session.run(feeds)
    norms.push(Number(out.grad_norm.data[0]))
    params = SHAPES.map((_, t) => out[`p${t}.next`].data as Float32Array | Float64Array)
    states = SHAPES.map((_, t) => stateNames.map((name) => out[`${name}${t}.next`].data as Float32Array))
  }
  await session.release()
  return { params: params.map((p) => Array.from(p)), norms }
}

function expectClose(actual: readonly number[], expected: readonly number[], tolerance: number) {
  expect(actual.length).toBe(expected.length)
  actual.forEach((a, i) =>
    expect(Math.abs(a - expected[i]), `element ${i}: ${a} vs ${expected[i]}`).toBeLessThan(tolerance)
  )
}

const CASES = [
  { name: 'AdamW (betas 0.9/0.999, wd 0.1)', config: ADAMW, maxNorm: 0, torch: TORCH.adamw },
  {
    name: 'AdamW with clipping at 0.5 (betas 0.8/0.99, eps 1e-6)',
    config: ADAMW_CLIP,
    maxNorm: 0.5,
    torch: TORCH.adamwClip
  },
  {
    name: 'SGD with momentum 0.9 and weight decay 0.01',
    config: SGD_MOMENTUM,
    maxNorm: 0,
    torch: TORCH.sgdMomentum
  },
  { name: 'plain SGD', config: SGD, maxNorm: 0, torch: TORCH.sgd }
]

describe.each(CASES)('$name, five steps', ({ config, maxNorm, torch }) => {
  test('the JS reference (torch docs algorithm) reproduces torch’s own trajectory', () => {
    const ref = referenceRun(config, maxNorm)
    expectClose(ref.params[0], torch.p1, 1e-12)
    expectClose(ref.params[1], torch.p2, 1e-12)
    expectClose(ref.norms, TORCH.norms, 1e-12)
  })

  test('the float64 graph matches the reference to 1e-12', async () => {
    const ref = referenceRun(config, maxNorm)
    const graph = await graphRun(config, maxNorm, 'float64')
    expectClose(graph.params[0], ref.params[0], 1e-12)
    expectClose(graph.params[1], ref.params[1], 1e-12)
    expectClose(graph.norms, ref.norms, 1e-12)
  })

  test('the float32 graph matches the reference to 1e-6', async () => {
    const ref = referenceRun(config, maxNorm)
    const graph = await graphRun(config, maxNorm, 'float32')
    expectClose(graph.params[0], ref.params[0], 1e-6)
    expectClose(graph.params[1], ref.params[1], 1e-6)
    expectClose(graph.norms, ref.norms, 1e-5)
  })
})

describe('clipping and state', () => {
  test('clipping changes the trajectory only when the norm exceeds max_norm', () => {
    const unclipped = referenceRun(ADAMW_CLIP, 0)
    const highThreshold = referenceRun(ADAMW_CLIP, 100)
    const clipped = referenceRun(ADAMW_CLIP, 0.5)
    expectClose(highThreshold.params[0], unclipped.params[0], 1e-15)
    expect(Math.abs(clipped.params[0][0] - unclipped.params[0][0])).toBeGreaterThan(1e-4)
  })

  test('state names follow torch, and plain SGD keeps none', () => {
    expect(optimizerStateNames(ADAMW)).toEqual(['exp_avg', 'exp_avg_sq'])
    expect(optimizerStateNames(SGD_MOMENTUM)).toEqual(['momentum_buffer'])
    expect(optimizerStateNames(SGD)).toEqual([])
  })

  test('invalid settings are refused with the offending value', () => {
    expect(() => optimizerStateNames({ kind: 'adamw', betas: [0.9, 1], eps: 1e-8, weightDecay: 0 })).toThrow(
      /betas\[1\] must be in \[0, 1\), got 1/
    )
    expect(() => optimizerStateNames({ kind: 'sgd', momentum: -0.1, weightDecay: 0 })).toThrow(
      /momentum.*-0.1/
    )
    expect(() => optimizerStateNames({ kind: 'lion' } as unknown as OptimizerConfig)).toThrow(
      /unknown kind "lion"/
    )
  })

  test('a tensor with the wrong number of state inputs is refused', () => {
    const g = new GraphBuilder('bad-state')
    const p = g.input('p', 'float32', [2])
    expect(() =>
      optimizerStep(
        ADAMW,
        [{ param: p, grad: g.input('g', 'float32', [2]), state: [] }],
        declareStepScalars(g)
      )
    ).toThrow(/p needs 2 state tensors, got 0/)
  })
})

// ---- with autodiff: loss → gradients → update in one graph ------------------------------------------

const X = [
  [1, 2, -1],
  [0.5, -1, 3],
  [2, 0, 1],
  [-1, 1, 1]
]
const Y = [1, -2, 0.5, 3]

/** Σᵢ (xᵢ·w − yᵢ)² / total and its gradient 2/total · Σᵢ (xᵢ·w − yᵢ) xᵢ, over the given rows. */
function referenceLoss(w: number[], rows: number[], total: number) {
  let loss = 0
  const grad = w.map(() => 0)
  for (const r of rows) {
    const residual = X[r].reduce((s, x, j) => s + x * w[j], 0) - Y[r]
    loss += (residual * residual) / total
    X[r].forEach((x, j) => (grad[j] += (2 * residual * x) / total))
  }
  return { loss, grad }
}

/** Squared error of rows x [n, 3] against y [n], divided by a fed `total` (the step's row count). */
function squaredErrorLoss(g: GraphBuilder, w: Tensor) {
  const x = g.input('x', 'float64', ['n', 3])
  const y = g.input('y', 'float64', ['n'])
  const total = g.input('total', 'float64', [])
  const residual = sub(reduceSum(mul(x, w), [1], { keepDims: false }), y) // (n)
  return div(reduceSum(mul(residual, residual), undefined, { keepDims: false }), total)
}

function rowsFeed(rows: number[], total: number): Record<string, HostTensor> {
  return {
    x: hostTensor('float64', [rows.length, 3], Float64Array.from(rows.flatMap((r) => X[r]))),
    y: hostTensor('float64', [rows.length], Float64Array.from(rows.map((r) => Y[r]))),
    total: scalar(total)
  }
}

describe('in a step graph with autodiff', () => {
  test('three AdamW steps of forward + gradients + update match the reference', async () => {
    const g = new GraphBuilder('train-step')
    const w = g.input('w', 'float64', [3])
    const m = g.input('m', 'float64', [3])
    const v = g.input('v', 'float64', [3])
    const loss = squaredErrorLoss(g, w)
    const [grad] = gradients(loss, [w])
    const { updates, gradNorm } = optimizerStep(
      ADAMW,
      [{ param: w, grad, state: [m, v] }],
      declareStepScalars(g)
    )
    g.output(loss, 'loss')
    g.output(gradNorm, 'grad_norm')
    g.output(updates[0].param, 'w.next')
    g.output(updates[0].state[0], 'm.next')
    g.output(updates[0].state[1], 'v.next')
    const session = await createSession(g.toBytes(), { intraOpThreads: 1 })

    const rows = [0, 1, 2, 3]
    let feeds = { w: [0.1, -0.2, 0.3], m: [0, 0, 0], v: [0, 0, 0] }
    const ref: RefTensor = {
      p: [0.1, -0.2, 0.3],
      state: [
        [0, 0, 0],
        [0, 0, 0]
      ]
    }
    for (let k = 0; k < 3; k++) {
      const out = await session.run({
        ...rowsFeed(rows, 4),
        w: hostTensor('float64', [3], Float64Array.from(feeds.w)),
        m: hostTensor('float64', [3], Float64Array.from(feeds.m)),
        v: hostTensor('float64', [3], Float64Array.from(feeds.v)),
        lr: scalar(0.05),
        step: scalar(k + 1),
        max_grad_norm: scalar(1)
      })
      const expected = referenceLoss(ref.p, rows, 4)
      expect(Number(out.loss.data[0])).toBeCloseTo(expected.loss, 12) // loss before this step's update
      const norm = referenceClip([expected.grad], 1)
      expect(Number(out.grad_norm.data[0])).toBeCloseTo(norm, 12)
      referenceStep(ADAMW, [ref], [expected.grad], 0.05, k + 1)
      feeds = {
        w: Array.from(out['w.next'].data as Float64Array),
        m: Array.from(out['m.next'].data as Float64Array),
        v: Array.from(out['v.next'].data as Float64Array)
      }
      expectClose(feeds.w, ref.p, 1e-12)
    }
    await session.release()
  })

  test('accumulated micro-batch gradients, each loss normalised by the step total, equal the full-batch gradient', async () => {
    const g = new GraphBuilder('micro-step')
    const w = g.input('w', 'float64', [3])
    const sums = g.input('grad_sum.w', 'float64', [3])
    const [grad] = gradients(squaredErrorLoss(g, w), [w])
    g.output(accumulateGradients([sums], [grad])[0], 'grad_sum.w.next')
    const session = await createSession(g.toBytes(), { intraOpThreads: 1 })
    const w0 = Float64Array.from([0.3, 0.1, -0.5])
    let sum: Float64Array = new Float64Array(3)
    for (const rows of [[0, 1], [2], [3]]) {
      const out = await session.run({
        ...rowsFeed(rows, 4),
        w: hostTensor('float64', [3], w0),
        'grad_sum.w': hostTensor('float64', [3], sum)
      })
      sum = out['grad_sum.w.next'].data as Float64Array
    }
    expectClose(Array.from(sum), referenceLoss(Array.from(w0), [0, 1, 2, 3], 4).grad, 1e-12)
    await session.release()
  })
})

describe('matmul-shaped parameters', () => {
  test('a 2-D weight updated through a matmul loss keeps its shape and dtype', async () => {
    const g = new GraphBuilder('matrix')
    const w = g.input('w', 'float32', [2, 2])
    const x = g.input('x', 'float32', [1, 2])
    const loss = reduceSum(matmul(x, w), undefined, { keepDims: false })
    const [grad] = gradients(loss, [w])
    const { updates } = optimizerStep(SGD, [{ param: w, grad, state: [] }], declareStepScalars(g))
    expect(updates[0].param.shape).toEqual([2, 2])
    expect(updates[0].param.dtype).toBe('float32')
    g.output(add(updates[0].param, 0), 'w.next')
    const session = await createSession(g.toBytes(), { intraOpThreads: 1 })
    const out = await session.run({
      w: hostTensor('float32', [2, 2], Float32Array.from([1, 2, 3, 4])),
      x: hostTensor('float32', [1, 2], Float32Array.from([1, -1])),
      lr: scalar(0.5),
      step: scalar(1),
      max_grad_norm: scalar(0)
    })
    // d(sum(x·w))/dw[i][j] = x[i]: rows move by −lr·x[i]
    expect(Array.from(out['w.next'].data as Float32Array)).toEqual([0.5, 1.5, 3.5, 4.5])
    await session.release()
  })
})

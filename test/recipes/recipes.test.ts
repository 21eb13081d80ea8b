/**
 * The shipped recipes' losses, built with the DSL through buildLossContext and run in
 * onnxruntime (float64), against hand-computed values; DFT's gradient and ASFT's KL anchor checked
 * analytically.
 */
import { describe, expect, test } from 'vitest'
import { gradients, GraphBuilder, type Tensor } from '../../src-main/engine/graph/index'
import { createSession, hostTensor, type HostTensor } from '../../src-main/engine/runtime/session'
import { buildLossContext, type LossSources } from '../../src-main/engine/train/loss-context'
import type { RecipeParams } from '../../src-main/engine/train/loss-hook'
import { getRecipe, listRecipes, recipeHelp, resolveRecipeParams } from '../../src-main/recipes/index'
import type { Recipe } from '../../src-main/recipes/types'

const B = 2
const S = 4
const V = 5
const _ = -100

// Not shifted: labels[b][t] is predicted from the logits at t − 1.
const LABELS = [
  [_, 3, 1, _],
  [_, _, 4, 0]
]
const LOSS_WEIGHTS = [
  [0, 1, 2, 0],
  [0, 0, 0.5, 1]
]
const LOGITS = Array.from({ length: B * S * V }, (_, i) => Math.sin(0.9 * i + 0.3) * 2)
const BASE_LOGITS = Array.from({ length: B * S * V }, (_, i) => Math.cos(0.7 * i) * 1.5)

interface Options {
  sampleWeights?: number[]
  baseLogits?: number[]
  tokenTotal?: number
  unitWeights?: boolean
}

interface RecipeRun {
  loss: number
  metrics: Record<string, number>
  gradLogits: Float64Array
  gradBase: Float64Array | null
}

async function runRecipe(recipe: Recipe, params: RecipeParams, options: Options = {}): Promise<RecipeRun> {
  const g = new GraphBuilder(`recipe-${recipe.name}`)
  const logits = g.input('logits', 'float64', ['batch', 'seq', V])
  const sources: LossSources = {
    logits,
    labels: g.input('labels', 'int64', ['batch', 'seq']),
    lossWeights: g.input('loss_weights', 'float32', ['batch', 'seq']),
    sampleWeights: g.input('sample_weights', 'float32', ['batch'])
  }
  if (options.baseLogits) sources.baseLogits = g.input('base_logits', 'float64', ['batch', 'seq', V])
  if (options.tokenTotal !== undefined) sources.tokenTotal = g.input('token_total', 'float32', [])
  const { loss, metrics = {} } = recipe.loss(buildLossContext(recipe, sources, params))
  const wrt: Tensor[] = [logits, ...(sources.baseLogits ? [sources.baseLogits] : [])]
  const [gradLogits, gradBase] = gradients(loss, wrt)
  g.output(loss, 'loss')
  for (const [name, value] of Object.entries(metrics)) g.output(value, `metric.${name}`)
  g.output(gradLogits, 'grad_logits')
  if (gradBase) g.output(gradBase, 'grad_base')

  const weights = options.unitWeights ? LABELS.flat().map((l) => (l === _ ? 0 : 1)) : LOSS_WEIGHTS.flat()
  const feeds: Record<string, HostTensor> = {
    logits: hostTensor('float64', [B, S, V], Float64Array.from(LOGITS)),
    labels: hostTensor('int64', [B, S], BigInt64Array.from(LABELS.flat().map(BigInt))),
    loss_weights: hostTensor('float32', [B, S], Float32Array.from(weights)),
    sample_weights: hostTensor('float32', [B], Float32Array.from(options.sampleWeights ?? [1, 1]))
  }
  if (options.baseLogits)
    feeds.base_logits = hostTensor('float64', [B, S, V], Float64Array.from(options.baseLogits))
  if (options.tokenTotal !== undefined) {
    feeds.token_total = hostTensor('float32', [], Float32Array.from([options.tokenTotal]))
  }
  const session = await createSession(g.toBytes(), { intraOpThreads: 1 })
  const out = await session.run(feeds)
  await session.release()
  const metricValues: Record<string, number> = {}
  for (const name of Object.keys(metrics)) metricValues[name] = Number(out[`metric.${name}`].data[0])
  return {
    loss: Number(out.loss.data[0]),
    metrics: metricValues,
    gradLogits: out.grad_logits.data as Float64Array,
    gradBase: gradBase ? (out.grad_base.data as Float64Array) : null
  }
}

// ---- hand computation ------------------------------------------------------------------------------

function logSoftmaxRow(values: number[], b: number, t: number): number[] {
  const row = values.slice((b * S + t) * V, (b * S + t + 1) * V)
  const max = Math.max(...row)
  const logSum = Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0)) + max
  return row.map((x) => x - logSum)
}

interface Target {
  b: number
  /** The predicting position (t − 1 of the label). */
  position: number
  label: number
  weight: number
}

function targets(options: Options = {}): Target[] {
  const list: Target[] = []
  LABELS.forEach((row, b) =>
    row.forEach((label, t) => {
      if (label === _) return
      const weight = options.unitWeights ? 1 : LOSS_WEIGHTS[b][t]
      list.push({ b, position: t - 1, label, weight: weight * (options.sampleWeights?.[b] ?? 1) })
    })
  )
  return list
}

/** Σ w·term / Σ w over the targets. */
function weightedMean(list: Target[], term: (t: Target) => number): number {
  return list.reduce((s, t) => s + t.weight * term(t), 0) / list.reduce((s, t) => s + t.weight, 0)
}

const logProb = (t: Target) => logSoftmaxRow(LOGITS, t.b, t.position)[t.label]
const klBaseToModel = (t: Target) => {
  const model = logSoftmaxRow(LOGITS, t.b, t.position)
  const base = logSoftmaxRow(BASE_LOGITS, t.b, t.position)
  return base.reduce((s, lb, v) => s + Math.exp(lb) * (lb - model[v]), 0)
}

function expectArrayClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number) {
  expect(actual.length).toBe(expected.length)
  for (let i = 0; i < actual.length; i++) {
    expect(Math.abs(actual[i] - expected[i]), `element ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThan(
      tolerance
    )
  }
}

// ---- sft ---------------------------------------------------------------------------------------------

describe('sft', () => {
  const sft = getRecipe('sft')

  test('unit weights: the plain mean NLL over the labelled tokens of the batch', async () => {
    const run = await runRecipe(sft, {}, { unitWeights: true })
    const nlls = targets({ unitWeights: true }).map((t) => -logProb(t))
    expect(nlls).toHaveLength(4)
    expect(run.loss).toBeCloseTo(nlls.reduce((s, x) => s + x, 0) / 4, 12)
  })

  test('token and sample weights: Σ w·nll / Σ w', async () => {
    const options = { sampleWeights: [2, 1] }
    const run = await runRecipe(sft, {}, options)
    expect(run.loss).toBeCloseTo(
      weightedMean(targets(options), (t) => -logProb(t)),
      12
    )
  })

  test('a fed step total (gradient accumulation) replaces the batch’s own normaliser', async () => {
    const own = targets().reduce((s, t) => s + t.weight, 0)
    const run = await runRecipe(sft, {}, { tokenTotal: 2 * own })
    expect(run.loss).toBeCloseTo(weightedMean(targets(), (t) => -logProb(t)) / 2, 12)
  })

  test('no gradient reaches logits of positions without a target', async () => {
    const run = await runRecipe(sft, {})
    const trainedPositions = new Set(targets().map((t) => t.b * S + t.position))
    for (let p = 0; p < B * S; p++) {
      const row = Array.from(run.gradLogits.slice(p * V, (p + 1) * V))
      if (trainedPositions.has(p)) expect(row.some((x) => x !== 0)).toBe(true)
      else expect(row).toEqual(new Array(V).fill(0))
    }
  })
})

// ---- dft ---------------------------------------------------------------------------------------------

/** ∂/∂logits of Σ w·term / Σ w where term's gradient at target t is scale(t)·(softmax − onehot). */
function expectedGradient(list: Target[], scale: (t: Target) => number): Float64Array {
  const grad = new Float64Array(B * S * V)
  const total = list.reduce((s, t) => s + t.weight, 0)
  for (const t of list) {
    const probs = logSoftmaxRow(LOGITS, t.b, t.position).map(Math.exp)
    for (let v = 0; v < V; v++) {
      grad[(t.b * S + t.position) * V + v] +=
        (t.weight / total) * scale(t) * (probs[v] - (v === t.label ? 1 : 0))
    }
  }
  return grad
}

describe('dft', () => {
  const dft = getRecipe('dft')

  test('loss: Σ w·nll·p / Σ w, with the plain NLL as a metric', async () => {
    const run = await runRecipe(dft, {})
    const list = targets()
    expect(run.loss).toBeCloseTo(
      weightedMean(list, (t) => -logProb(t) * Math.exp(logProb(t))),
      12
    )
    expect(run.metrics.nll).toBeCloseTo(
      weightedMean(list, (t) => -logProb(t)),
      12
    )
  })

  test('gradient = p·∇(−log p): the probability is held constant (stop-gradient)', async () => {
    const run = await runRecipe(dft, {})
    const list = targets()
    expectArrayClose(
      run.gradLogits,
      expectedGradient(list, (t) => Math.exp(logProb(t))),
      1e-12
    )
    // Differentiating through p as well would add −p·log p·∇log p = p·log p·(softmax − onehot).
    const withoutStop = expectedGradient(list, (t) => Math.exp(logProb(t)) * (1 - logProb(t)))
    expect(Math.max(...run.gradLogits.map((g, i) => Math.abs(g - withoutStop[i])))).toBeGreaterThan(1e-3)
  })

  test('each position’s gradient is its SFT gradient scaled by p(target)', async () => {
    const [dftRun, sftRun] = await Promise.all([runRecipe(dft, {}), runRecipe(getRecipe('sft'), {})])
    for (const t of targets()) {
      const offset = (t.b * S + t.position) * V
      const p = Math.exp(logProb(t))
      for (let v = 0; v < V; v++) {
        expect(dftRun.gradLogits[offset + v]).toBeCloseTo(p * sftRun.gradLogits[offset + v], 12)
      }
    }
  })
})

// ---- asft --------------------------------------------------------------------------------------------

describe('asft', () => {
  const asft = getRecipe('asft')

  test('loss: Σ w·(nll·p + λ·KL(p_base ‖ p)) / Σ w, with each term as a metric', async () => {
    const params = resolveRecipeParams('asft', { kl_weight: 0.3 })
    const run = await runRecipe(asft, params, { baseLogits: BASE_LOGITS })
    const list = targets()
    const dftTerm = (t: Target) => -logProb(t) * Math.exp(logProb(t))
    expect(run.loss).toBeCloseTo(
      weightedMean(list, (t) => dftTerm(t) + 0.3 * klBaseToModel(t)),
      12
    )
    expect(run.metrics.dft).toBeCloseTo(weightedMean(list, dftTerm), 12)
    expect(run.metrics.kl).toBeCloseTo(weightedMean(list, klBaseToModel), 12)
    expect(run.metrics.kl).toBeGreaterThan(0.01)
    expect(run.metrics.nll).toBeCloseTo(
      weightedMean(list, (t) => -logProb(t)),
      12
    )
  })

  test('the KL term is zero when the base model equals the model: loss and gradient are DFT’s', async () => {
    const params = resolveRecipeParams('asft')
    const [asftRun, dftRun] = await Promise.all([
      runRecipe(asft, params, { baseLogits: LOGITS }),
      runRecipe(getRecipe('dft'), {})
    ])
    expect(Math.abs(asftRun.metrics.kl)).toBeLessThan(1e-15)
    expect(asftRun.loss).toBeCloseTo(dftRun.loss, 14)
    expectArrayClose(asftRun.gradLogits, dftRun.gradLogits, 1e-14)
  })

  test('the KL pulls the model toward the base: its gradient is (p − p_base) per trained position', async () => {
    const onlyKl = await runRecipe(asft, { kl_weight: 1 }, { baseLogits: BASE_LOGITS })
    const dftRun = await runRecipe(getRecipe('dft'), {})
    const list = targets()
    const total = list.reduce((s, t) => s + t.weight, 0)
    const expected = new Float64Array(B * S * V)
    for (const t of list) {
      const model = logSoftmaxRow(LOGITS, t.b, t.position).map(Math.exp)
      const base = logSoftmaxRow(BASE_LOGITS, t.b, t.position).map(Math.exp)
      for (let v = 0; v < V; v++)
        expected[(t.b * S + t.position) * V + v] = (t.weight / total) * (model[v] - base[v])
    }
    expectArrayClose(
      onlyKl.gradLogits.map((g, i) => g - dftRun.gradLogits[i]),
      expected,
      1e-12
    )
  })

  test('no gradient flows into the base model’s logits', async () => {
    const run = await runRecipe(asft, resolveRecipeParams('asft'), { baseLogits: BASE_LOGITS })
    expect(Array.from(run.gradBase!)).toEqual(new Array(B * S * V).fill(0))
  })

  test('building without base logits names what is missing', () => {
    const g = new GraphBuilder('no-base')
    expect(() =>
      buildLossContext(
        asft,
        {
          logits: g.input('logits', 'float32', ['batch', 'seq', V]),
          labels: g.input('labels', 'int64', ['batch', 'seq']),
          lossWeights: g.input('w', 'float32', ['batch', 'seq']),
          sampleWeights: g.input('sw', 'float32', ['batch'])
        },
        resolveRecipeParams('asft')
      )
    ).toThrow(/recipe "asft" needs the base model's logits/)
  })
})

// ---- registry ----------------------------------------------------------------------------------------

describe('registry', () => {
  test('lists every recipe in registry order, each with a title, a summary and (but sft) a paper', () => {
    expect(listRecipes().map((r) => r.name)).toEqual([
      'sft',
      'dft',
      'asft',
      'masked-thought',
      'first-step',
      'prompt-diversity',
      'self-correction-format',
      'glow',
      'span-weights',
      'otr',
      'grape',
      'uds',
      's3ft',
      'branch-filter',
      'dpo',
      'poft',
      'grpo',
      'chord',
      'prefix-rft',
      'seele'
    ])
    for (const recipe of listRecipes()) {
      expect(recipe.title.length).toBeGreaterThan(3)
      expect(recipe.summary.length).toBeGreaterThan(80)
    }
    expect(getRecipe('dft').paper?.arxiv).toBe('2508.05629')
    expect(getRecipe('asft').paper?.arxiv).toBe('2509.23753')
    expect(getRecipe('asft').needs).toEqual({ fullLogProbs: true, baseModelLogits: true })
    expect(
      ['chord', 'prefix-rft', 'seele'].map((name) => [getRecipe(name).group, getRecipe(name).paper?.arxiv])
    ).toEqual([
      ['rl', '2508.11408'],
      ['rl', '2507.01679'],
      ['rl', '2509.06923']
    ])
  })

  test('an unknown recipe name lists the known ones', () => {
    expect(() => getRecipe('ppo')).toThrow(
      'getRecipe: unknown recipe "ppo"; known: sft, dft, asft, masked-thought, first-step, prompt-diversity, self-correction-format, glow, span-weights, otr, grape, uds, s3ft, branch-filter, dpo, poft, grpo, chord, prefix-rft, seele'
    )
  })

  test('parameters: defaults, values from the command line as strings, typed values', () => {
    expect(resolveRecipeParams('asft')).toEqual({ kl_weight: 0.1 })
    expect(resolveRecipeParams('asft', { kl_weight: '0.05' })).toEqual({ kl_weight: 0.05 })
    expect(resolveRecipeParams('asft', { kl_weight: 2 })).toEqual({ kl_weight: 2 })
    expect(resolveRecipeParams('sft')).toEqual({})
  })

  test('invalid parameters are refused with the recipe, the parameter and the value', () => {
    expect(() => resolveRecipeParams('asft', { kl_weight: -1 })).toThrow(
      'recipe asft: parameter kl_weight must be ≥ 0, got -1'
    )
    expect(() => resolveRecipeParams('asft', { kl_weight: 'lots' })).toThrow(
      'recipe asft: parameter kl_weight must be a finite number, got "lots"'
    )
    expect(() => resolveRecipeParams('asft', { beta: 1 })).toThrow(
      'recipe asft: unknown parameter "beta"; known: kl_weight'
    )
    expect(() => resolveRecipeParams('sft', { beta: 1 })).toThrow(/it takes no parameters/)
  })

  test('text parameters: the default, a given value, too long or failing their check refused', () => {
    expect(resolveRecipeParams('s3ft').answer_regex).toBe('#### (\\-?[0-9\\.\\,]+)')
    expect(resolveRecipeParams('s3ft', { answer_regex: 'The answer is (\\S+)' }).answer_regex).toBe(
      'The answer is (\\S+)'
    )
    expect(() => resolveRecipeParams('s3ft', { answer_regex: 'x'.repeat(501) })).toThrow(
      'recipe s3ft: parameter answer_regex must be at most 500 characters, got 501'
    )
    expect(() => resolveRecipeParams('s3ft', { answer_regex: 7 })).toThrow(
      'recipe s3ft: parameter answer_regex must be text, got 7'
    )
    expect(() => resolveRecipeParams('s3ft', { answer_regex: 'answer (\\d+' })).toThrow(
      /^recipe s3ft: parameter answer_regex: "answer \(\\\\d\+" is refused: /
    )
    expect(recipeHelp(getRecipe('s3ft'))).toContain(
      'answer_regex (text, default "#### (\\-?[0-9\\.\\,]+)", at most 500 characters)'
    )
  })

  test('help text carries the citation and the parameters', () => {
    const help = recipeHelp(getRecipe('asft'))
    expect(help).toContain('Anchored Supervised Fine-Tuning')
    expect(help).toContain('arXiv:2509.23753')
    expect(help).toContain('kl_weight (number, default 0.1, ≥ 0, ≤ 100)')
    expect(recipeHelp(getRecipe('sft'))).not.toContain('Paper:')
  })
})

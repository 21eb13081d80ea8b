/** The loss hook's inputs from logits and a batch: the label shift, masks, weights and totals. */
import { describe, expect, test } from 'vitest'
import { GraphBuilder } from '../../../src-main/engine/graph/index'
import { createSession, hostTensor } from '../../../src-main/engine/runtime/session'
import { collateRows } from '../../../src-main/engine/train/batches'
import type { TrainingExample } from '../../../src-main/engine/train/data'
import {
  buildLossContext,
  declareLossInputs,
  LOSS_INPUT_NAMES,
  recipeInputName
} from '../../../src-main/engine/train/loss-context'
import { getRecipe } from '../../../src-main/recipes/index'
import type { Recipe } from '../../../src-main/recipes/types'

const V = 3
const _ = -100

const examples: TrainingExample[] = [
  {
    inputIds: Int32Array.from([0, 1, 2]),
    labels: Int32Array.from([_, 1, 2]),
    weights: Float32Array.from([0, 1, 0.5]),
    line: 1
  },
  {
    inputIds: Int32Array.from([2, 0]),
    labels: Int32Array.from([_, 0]),
    weights: Float32Array.from([0, 2]),
    line: 2
  }
]

describe('buildLossContext', () => {
  test('targets are shifted: position t holds log p(labels[t + 1]) from the logits at t', async () => {
    const batch = collateRows([[0], [1]], examples) // [2, 3]
    const g = new GraphBuilder('context')
    const logits = g.input('logits', 'float32', ['batch', 'seq', V])
    const declared = declareLossInputs(g, getRecipe('sft'))
    const ctx = buildLossContext(getRecipe('sft'), { logits, ...declared, tokenTotal: undefined }, {})
    expect(ctx.tokenLogProbs.shape).toEqual(['batch', 'seq'])
    g.output(ctx.tokenLogProbs, 'token_logprobs')
    g.output(ctx.labelMask, 'label_mask')
    g.output(ctx.tokenWeights, 'token_weights')
    g.output(ctx.tokenTotal, 'token_total_own')
    const session = await createSession(g.toBytes(), { intraOpThreads: 1 })
    // logits: log-probabilities are simple when each position's logits are [log a, log b, log c]
    const probs = [
      [0.2, 0.3, 0.5],
      [0.6, 0.3, 0.1],
      [0.1, 0.1, 0.8],
      [0.7, 0.2, 0.1],
      [0.25, 0.25, 0.5],
      [0.3, 0.3, 0.4]
    ]
    const out = await session.run({
      logits: hostTensor('float32', [2, 3, V], Float32Array.from(probs.flat().map(Math.log))),
      labels: hostTensor('int64', [2, 3], batch.labels),
      loss_weights: hostTensor('float32', [2, 3], batch.lossWeights),
      sample_weights: hostTensor('float32', [2], batch.sampleWeights),
      token_total: hostTensor('float32', [], Float32Array.from([0])),
      sample_total: hostTensor('float32', [], Float32Array.from([0]))
    })
    await session.release()
    const tokenLogProbs = Array.from(out.token_logprobs.data as Float32Array)
    // row 0: position 0 predicts label 1, position 1 predicts label 2; row 1: position 0 predicts 0
    expect(tokenLogProbs[0]).toBeCloseTo(Math.log(0.3), 6)
    expect(tokenLogProbs[1]).toBeCloseTo(Math.log(0.1), 6)
    expect(tokenLogProbs[3]).toBeCloseTo(Math.log(0.7), 6)
    expect(Array.from(out.label_mask.data as Float32Array)).toEqual([1, 1, 0, 1, 0, 0])
    expect(Array.from(out.token_weights.data as Float32Array)).toEqual([1, 0.5, 0, 2, 0, 0])
    // the in-graph total of one batch is the batch's lossWeightTotal (what the trainer sums over micro-batches)
    expect(Number(out.token_total_own.data[0])).toBe(batch.lossWeightTotal)
  })

  test('declares the batch inputs, the step totals and a recipe’s extra inputs under fixed names', () => {
    const recipe: Recipe = {
      ...getRecipe('sft'),
      name: 'with-inputs',
      inputs: [
        { name: 'ref_logprobs', description: 'reference log-probs', per: 'token', dtype: 'float32' },
        { name: 'advantage', description: 'per-sample advantage', per: 'sample', dtype: 'float32' },
        { name: 'mu', description: 'mixing weight', per: 'step', dtype: 'float32' }
      ]
    }
    const g = new GraphBuilder('declared')
    const declared = declareLossInputs(g, recipe)
    expect(g.inputs.map((t) => t.name)).toEqual([
      recipeInputName('ref_logprobs'),
      recipeInputName('advantage'),
      recipeInputName('mu'),
      LOSS_INPUT_NAMES.labels,
      LOSS_INPUT_NAMES.lossWeights,
      LOSS_INPUT_NAMES.sampleWeights,
      LOSS_INPUT_NAMES.tokenTotal,
      LOSS_INPUT_NAMES.sampleTotal
    ])
    expect(declared.inputs.ref_logprobs.shape).toEqual(['batch', 'seq'])
    expect(declared.inputs.advantage.shape).toEqual(['batch'])
    expect(declared.inputs.mu.shape).toEqual([])
    const logits = g.input('logits', 'float32', ['batch', 'seq', V])
    const ctx = buildLossContext(recipe, { logits, ...declared }, {})
    expect(ctx.inputs.advantage).toBe(declared.inputs.advantage)
    expect(() => buildLossContext(recipe, { logits, ...declared, inputs: {} }, {})).toThrow(
      'buildLossContext: recipe "with-inputs" needs the input "ref_logprobs"'
    )
  })

  test('rejects logits and labels of the wrong kind', () => {
    const g = new GraphBuilder('bad')
    const declared = declareLossInputs(g, getRecipe('sft'))
    const flat = g.input('flat_logits', 'float32', ['n', V])
    expect(() => buildLossContext(getRecipe('sft'), { logits: flat, ...declared }, {})).toThrow(
      /logits flat_logits: float32\[n, 3\] must be float \[batch, seq, vocab\]/
    )
  })
})

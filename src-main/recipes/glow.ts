/**
 * GLOW, gain-based loss weighting: SFT on unfiltered reasoning trajectories (wrong-answer ones
 * included) where each sample's loss is rescaled by how much it fell since the sample's previous
 * epoch. Tian et al., "Learning from Mistakes: Negative Reasoning Samples Enhance Out-of-Domain
 * Generalization", 2026, arXiv:2601.04992.
 *
 * The rule is the one of the authors' released trainer (github.com/Eureka-Maggie/GLOW,
 * LLaMA-Factory/src/llamafactory/train/sft/trainer.py, `compute_loss`), which the abstract does not
 * spell out. With ℓ_b a row's mean NLL over its trained tokens (weighted by its token weights) in
 * this step, and ℓ'_b the same row's loss when it was last trained (in the previous epoch),
 *
 *   gain  g_b = ℓ'_b − stopGradient(ℓ_b)
 *   w_b       = clip(α·(1 − σ(β·g_b)), w_min, w_max)      (w_b = 1 in the first epoch)
 *   loss      = Σ_b w_b·ℓ_b / B                            (a mean over samples, not over tokens)
 *
 * so a sample that stopped improving, or got worse, weighs more than one the model is learning
 * fast. Defaults: α = 1, β = 10 from the released config (model_yamls/qwen3b_math_1_10.yaml); the
 * clip [0.5, 5] are the trainer's constants. Where the released code gives a row without history the
 * batch's mean loss, this recipe gives it weight 1.
 *
 * "Keep negative trajectories" is the paper's data choice, not a separate loss: the wrong-answer
 * chains train as ordinary SFT rows beside the right ones, so this recipe filters nothing.
 *
 * Each row's loss goes to the trainer as the per-sample output `loss`; `updateState` keeps the last
 * one per source line (the state is checkpointed), and `batchInputs` feeds it back as
 * `previous_loss` (−1: none yet) when the line comes round again. A packed row holds several
 * samples and counts as one: each of its lines records the row's loss, and the first line's history
 * weighs the row.
 */
import { less, max, min, mul, sigmoid, stopGradient, sub, where, type Tensor } from '../engine/graph/index'
import type { LossContext } from '../engine/train/loss-hook'
import type { RecipeBatchRows, RecipeStepReport } from '../engine/train/run-hooks'
import { rowTokenMean, tokenNll, weightedSampleMean } from './loss-terms'
import type { Recipe } from './types'

export type GlowParams = { alpha: number; beta: number; min_weight: number; max_weight: number }

/** The state: each source line's loss when it was last trained, keyed by the line number. */
type GlowState = Record<string, number>

const NO_HISTORY = -1

export const glow: Recipe<GlowParams> = {
  name: 'glow',
  title: 'GLOW (learning from mistakes)',
  summary:
    'SFT on all trajectories, the ones with a wrong final answer included, where each sample weighs ' +
    'more when its loss stopped falling since the previous epoch and less when the model is already ' +
    'learning it fast. The first epoch is plain per-sample-mean SFT; the weighting starts with the ' +
    'second, so train for several epochs. The weighting rule and its defaults (alpha 1, beta 10, ' +
    'weights clipped to [0.5, 5]) come from the authors\u2019 released code, not from the paper\u2019s abstract.',
  paper: {
    title: 'Learning from Mistakes: Negative Reasoning Samples Enhance Out-of-Domain Generalization',
    authors:
      'Xueyun Tian, Minghua Ma, Bingbing Xu, Nuoyan Lyu, Wei Li, Heng Dong, Zheng Chu, Yuanzhuo Wang, Huawei Shen',
    year: 2026,
    arxiv: '2601.04992',
    url: 'https://arxiv.org/abs/2601.04992'
  },
  group: 'sft',
  params: [
    {
      name: 'alpha',
      description: 'α, the scale of the weight α·(1 − σ(β·gain)) before clipping',
      type: 'number',
      default: 1,
      min: 0,
      max: 100
    },
    {
      name: 'beta',
      description: 'β, how sharply the weight falls as the inter-epoch loss gain grows',
      type: 'number',
      default: 10,
      min: 0,
      max: 1000
    },
    {
      name: 'min_weight',
      description: 'Smallest weight a sample gets',
      type: 'number',
      default: 0.5,
      min: 0,
      max: 100
    },
    {
      name: 'max_weight',
      description: 'Largest weight a sample gets',
      type: 'number',
      default: 5,
      min: 0,
      max: 100
    }
  ],
  needs: {},
  inputs: [
    {
      name: 'previous_loss',
      description: "the row's mean token loss when it was last trained, −1 when it has none",
      per: 'sample',
      dtype: 'float32'
    }
  ],
  loss: (ctx) => {
    const rowLoss = rowTokenMean(ctx, tokenNll(ctx)) // (B)
    const weights = gainWeights(ctx, ctx.inputs.previous_loss, stopGradient(rowLoss)) // (B)
    return {
      loss: weightedSampleMean(ctx, mul(weights, rowLoss)),
      perSample: { loss: rowLoss, weight: weights }
    }
  },
  initialState: () => ({}),
  updateState: (state, report) => recordLosses(state as GlowState, report),
  batchInputs: (state, rows) => ({ previous_loss: previousLosses(state as GlowState, rows) })
}

/** clip(α·(1 − σ(β·(previous − current))), w_min, w_max), and 1 where the row has no previous loss [B]. */
function gainWeights(ctx: LossContext<GlowParams>, previous: Tensor, current: Tensor): Tensor {
  const { alpha, beta, min_weight, max_weight } = ctx.params
  const gain = sub(previous, current)
  const scaled = mul(sub(1, sigmoid(mul(gain, beta))), alpha)
  const clipped = min(max(scaled, min_weight), max_weight)
  return stopGradient(where(less(previous, 0), 1, clipped))
}

function recordLosses(state: GlowState, report: RecipeStepReport): GlowState {
  const losses = report.result.perSample?.loss
  if (!losses) throw new Error('glow: the step returned no per-sample loss')
  const next = { ...state }
  report.rowLines.forEach((rows, micro) =>
    rows.forEach((lines, row) => {
      for (const line of lines) next[line] = losses[micro][row]
    })
  )
  return next
}

function previousLosses(state: GlowState, { rowLines }: RecipeBatchRows): Float32Array {
  return Float32Array.from(rowLines, (lines) => state[lines[0]] ?? NO_HISTORY)
}

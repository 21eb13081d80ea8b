/**
 * CHORD: GRPO on the model's own samples and SFT on the expert's demonstrations of the same
 * prompts, in one loss whose mix follows a schedule. Zhang et al., "On-Policy RL Meets Off-Policy
 * Experts: Harmonizing Supervised Fine-Tuning and Reinforcement Learning via Dynamic Weighting",
 * 2025, arXiv:2508.11408. This is its CHORD-φ form:
 *
 *   loss = (1 − μ)·L_GRPO(the group's G rollouts) + μ·L_SFT(the prompt's demonstration)
 *   L_SFT = Σ w·φ_t·(−log p_t) / Σ w over the demonstrations' tokens, φ_t = p_t·(1 − p_t), p_t =
 *           exp(log p(token)) behind stopGradient: tokens the model already finds certain (p → 1)
 *           and tokens far from its distribution (p → 0) both weigh little.
 *   μ     rises linearly from 0 to mu_peak over mu_warmup_steps, then falls to mu_valley along a
 *         half cosine over mu_decay_steps, and stays there; the step count is the recipe state.
 *
 * L_GRPO is grpo's loss (grpo.ts), metrics and all, computed on the rollout rows only. The rows:
 * each prompt's group is its G completions followed by its own data row (online-rollouts.ts, the
 * plan's demonstration row), so a micro-batch is groups of G + 1 rows; `expert` marks the last row
 * of each. grpo's part reads the first G rows of every group (its advantages need whole groups
 * side by side), normalised by the step's rollout totals; the SFT part masks with `expert` and
 * divides by the step's demonstration tokens. Both are per optimizer step, so accumulation gives
 * the step's loss, as grpo's totals do.
 *
 * The defaults of the μ schedule (peak 0.9, valley 0.05, no warm-up, 200 decay steps) are those of
 * ms-swift's CHORD training example (`swift rlhf --rlhf_type grpo --chord_mu_peak 0.9
 * --chord_mu_valley 0.05 --chord_mu_warmup_steps 0 --chord_mu_decay_steps 200`, whose parameter
 * names follow the authors' Trinity-RFT implementation); the paper's own values could not be read
 * offline. The linear warm-up from 0 and the half-cosine decay are the shapes that implementation
 * documents; the exact step at which each phase starts is ours.
 */
import {
  add,
  cast,
  concat,
  div,
  greater,
  mul,
  reshape,
  shape,
  slice,
  sub,
  where,
  zerosLike,
  type Tensor
} from '../engine/graph/index'
import type { LossContext } from '../engine/train/loss-hook'
import type { RecipeState } from '../engine/train/run-hooks'
import { demonstrationParams, fromGrpo, grpoPart, rollingState, withGrpoState } from './grpo-demonstrations'
import { grpo, type GrpoParams } from './grpo'
import { grpoRollouts } from './grpo-online'
import { detachedTokenProb, tokenNll, weightedTokenSum } from './loss-terms'
import type { Recipe } from './types'

export type ChordParams = GrpoParams & {
  mu_peak: number
  mu_valley: number
  mu_warmup_steps: number
  mu_decay_steps: number
}

/** μ before the step that follows `stepsDone` optimizer steps (see the module comment). */
export function chordMu(stepsDone: number, params: ChordParams): number {
  const { mu_peak: peak, mu_valley: valley, mu_warmup_steps: warmup, mu_decay_steps: decay } = params
  if (stepsDone < warmup) return (peak * stepsDone) / warmup
  const decayed = stepsDone - warmup
  if (decayed >= decay) return valley
  return valley + ((peak - valley) * (1 + Math.cos((Math.PI * decayed) / decay))) / 2
}

/** chord's state: the optimizer steps taken (μ's clock) beside grpo's own (a sampling temperature). */
function stepsDone(state: RecipeState): number {
  return (state as { steps: number }).steps
}

export const chord: Recipe<ChordParams> = {
  name: 'chord',
  title: 'CHORD: GRPO with scheduled SFT on demonstrations',
  summary:
    'Reinforcement learning from rewards (grpo on the model’s own answers, scored by a reward spec) mixed ' +
    'with supervised learning on each prompt’s gold response in the same step: loss = (1 − μ)·GRPO + ' +
    'μ·SFT, where the SFT tokens are weighted by p(1 − p) so that tokens the model already knows and ' +
    'tokens far from what it would say move it little. μ starts high (mostly imitation) and decays ' +
    'toward mu_valley (mostly RL) over mu_decay_steps. The data are prompts with gold responses; needs a ' +
    'reward spec. Each step trains one more row per prompt than grpo.',
  paper: {
    title:
      'On-Policy RL Meets Off-Policy Experts: Harmonizing Supervised Fine-Tuning and Reinforcement Learning via Dynamic Weighting',
    authors:
      'Wenhao Zhang, Yuexiang Xie, Yuchang Sun, Yanxi Chen, Guoyin Wang, Yaliang Li, Bolin Ding, Jingren Zhou',
    year: 2025,
    arxiv: '2508.11408',
    url: 'https://arxiv.org/abs/2508.11408'
  },
  group: 'rl',
  params: [
    ...demonstrationParams('chord'),
    {
      name: 'mu_peak',
      description:
        'μ at the end of the warm-up, the SFT share at its highest (ms-swift’s CHORD example: 0.9)',
      type: 'number',
      default: 0.9,
      min: 0,
      max: 1
    },
    {
      name: 'mu_valley',
      description: 'μ after the decay, for the rest of the run (ms-swift’s CHORD example: 0.05)',
      type: 'number',
      default: 0.05,
      min: 0,
      max: 1
    },
    {
      name: 'mu_warmup_steps',
      description: 'steps over which μ rises linearly from 0 to mu_peak (0 = start at the peak)',
      type: 'integer',
      default: 0,
      min: 0,
      max: 1_000_000
    },
    {
      name: 'mu_decay_steps',
      description: 'steps over which μ falls from mu_peak to mu_valley along a half cosine (ms-swift: 200)',
      type: 'integer',
      default: 200,
      min: 0,
      max: 1_000_000
    }
  ],
  ...fromGrpo('chord'),
  inputs: [
    ...(grpo.inputs ?? []),
    {
      name: 'expert',
      description: '1 on a demonstration row, 0 on a rollout row',
      per: 'sample',
      dtype: 'float32'
    },
    { name: 'mu', description: 'μ, the SFT share of this step’s loss', per: 'step', dtype: 'float32' },
    {
      name: 'rollout_rows',
      description: 'the rollout rows of the whole optimizer step (grpo’s sample total)',
      per: 'step',
      dtype: 'float32'
    },
    {
      name: 'rollout_tokens',
      description: 'the rollout rows’ weighted completion tokens over the step (grpo’s token total)',
      per: 'step',
      dtype: 'float32'
    },
    {
      name: 'expert_tokens',
      description: 'the demonstration rows’ weighted tokens over the step (the SFT term’s divisor)',
      per: 'step',
      dtype: 'float32'
    }
  ],
  rollouts: {
    ...rollingState(grpoRollouts),
    plan: () => ({ demonstration: true })
  },
  initialState: (params) => withGrpoState({ steps: 0 }, params),
  updateState: (state, report, params) =>
    withGrpoState(
      { steps: stepsDone(state) + 1 },
      params,
      grpo.updateState!(grpoPart(state), report, params)
    ),
  batchInputs: (state, rows, params) => {
    const step = rows.stepRowExamples ?? [rows.rowExamples]
    const isExpert = (example: { rollout?: unknown }) => example.rollout === undefined
    const tokens = (demonstrations: boolean) =>
      step
        .flat()
        .filter(([example]) => isExpert(example) === demonstrations)
        .reduce((n, [example]) => n + example.weights.reduce((a, b) => a + b, 0), 0)
    // grpo reads a reward on every row; a demonstration has none, and its part never reads the row.
    const asRollouts = rows.rowExamples.map(([example]) => [
      isExpert(example) ? { ...example, rollout: { reward: 0, group: '' } } : example
    ])
    return {
      ...grpo.batchInputs!(grpoPart(state), { ...rows, rowExamples: asRollouts }, params),
      expert: Float32Array.from(rows.rowExamples, ([example]) => (isExpert(example) ? 1 : 0)),
      mu: Float32Array.of(chordMu(stepsDone(state), params)),
      rollout_rows: Float32Array.of(step.flat().filter(([example]) => !isExpert(example)).length),
      rollout_tokens: Float32Array.of(tokens(false)),
      expert_tokens: Float32Array.of(tokens(true))
    }
  },
  loss: (ctx) => {
    const mu = cast(ctx.inputs.mu, ctx.tokenLogProbs.dtype)
    const rollouts = grpo.loss(rolloutContext(ctx))
    const sft = demonstrationLoss(ctx)
    const perRow = rollouts.perSample?.advantage
    return {
      loss: add(mul(sub(1, mu), rollouts.loss), mul(mu, sft)),
      metrics: {
        ...rollouts.metrics,
        'chord/mu': mu,
        'chord/grpo_loss': rollouts.loss,
        'chord/sft_loss': sft
      },
      ...(perRow ? { perSample: { advantage: withDemonstrationRows(perRow, ctx.params.group_size) } } : {})
    }
  }
}

/** Σ w·φ·(−log p) / the step's demonstration tokens, over the demonstration rows; 0 without any. */
function demonstrationLoss(ctx: LossContext<ChordParams>): Tensor {
  const [expert, total] = [ctx.inputs.expert, ctx.inputs.expert_tokens].map((t) =>
    cast(t, ctx.tokenLogProbs.dtype)
  )
  const p = detachedTokenProb(ctx) // (B, S)
  const phi = mul(p, sub(1, p)) // (B, S)
  const onDemonstrations = { ...ctx, sampleWeights: mul(ctx.sampleWeights, expert) }
  const sum = weightedTokenSum(onDemonstrations, mul(phi, tokenNll(ctx)))
  return div(sum, where(greater(total, 0), total, 1))
}

/**
 * The loss context of the rollout rows alone, the first group_size rows of every group of
 * group_size + 1, with the step's rollout totals: what grpo's loss sees on grpo's own data.
 */
function rolloutContext(ctx: LossContext<ChordParams>): LossContext<ChordParams> {
  const size = ctx.params.group_size
  const rows = (t: Tensor) => leadingRowsOfGroups(t, size + 1, size)
  const rowsOrNull = (t: Tensor | null) => (t ? rows(t) : null)
  const inputs = Object.fromEntries(
    Object.entries(ctx.inputs).map(([name, t]) => [name, t.rank === 0 ? t : rows(t)])
  )
  return {
    ...ctx,
    tokenLogProbs: rows(ctx.tokenLogProbs),
    logProbs: rowsOrNull(ctx.logProbs),
    baseLogProbs: rowsOrNull(ctx.baseLogProbs),
    baseTokenLogProbs: rowsOrNull(ctx.baseTokenLogProbs),
    targets: rows(ctx.targets),
    labelMask: rows(ctx.labelMask),
    tokenWeights: rows(ctx.tokenWeights),
    sampleWeights: rows(ctx.sampleWeights),
    tokenTotal: cast(ctx.inputs.rollout_tokens, ctx.tokenTotal.dtype),
    sampleTotal: cast(ctx.inputs.rollout_rows, ctx.sampleTotal.dtype),
    inputs
  }
}

/** The first `count` rows of every consecutive group of `size` rows of t [B, …]: [B·count/size, …]. */
function leadingRowsOfGroups(t: Tensor, size: number, count: number): Tensor {
  const rest = shape(t, 1) // the dims after the rows, int64 (rank − 1)
  const grouped = reshape(t, concat([t.graph.int64s([-1, size]), rest], 0)) // (B/size, size, …)
  const kept = slice(grouped, [0], [count], [1]) // (B/size, count, …)
  return reshape(kept, concat([t.graph.int64s([-1]), rest], 0)) // (B·count/size, …)
}

/** Per-row values of the rollout rows [B·G/(G+1)] with a 0 for each group's demonstration row: [B]. */
function withDemonstrationRows(values: Tensor, groupSize: number): Tensor {
  const grouped = reshape(values, [-1, groupSize]) // (B/(G+1), G)
  const zeros = zerosLike(slice(grouped, [0], [1], [1])) // (B/(G+1), 1)
  return reshape(concat([grouped, zeros], 1), [-1]) // (B)
}

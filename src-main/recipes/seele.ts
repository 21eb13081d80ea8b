/**
 * SEELE: grpo on the model's own samples where each prompt carries a hint, the first part of its
 * demonstration (gold response), as long as that prompt needs for the rollouts to be right about
 * half the time. Li et al., "Staying in the Sweet Spot: Responsive Reasoning Evolution via
 * Capability-Adaptive Hint Scaffolding", 2025, arXiv:2509.06923.
 *
 * The hint is the first ⌊h·n⌋ tokens of the n-token demonstration, appended to the prompt: the
 * model continues from it, the reward functions score what the model wrote (the completion, not
 * the hint), and nothing trains on the hint, which is prompt. h is kept per prompt (by its data
 * line) in the recipe state, so it is in every checkpoint and a resumed run hints exactly as the
 * uninterrupted one did.
 *
 * The target accuracy 0.5 is the paper's: its bound on the loss descent of a GRPO step grows with
 * a·(1 − a), a the rollout accuracy, so learning is fastest at a = 0.5. How h follows it is ours:
 * the paper samples several rounds per step and fits an item-response (three-parameter logistic)
 * curve of accuracy against hint length to choose the next round's hint; here, after each step,
 * every prompt trained in it moves h ← clamp(h + hint_rate·(target − a), 0, hint_max), a the share
 * of its group whose reward reaches correct_reward: longer hints for prompts the model fails,
 * shorter for those it solves. A prompt not yet seen starts at hint_initial. These three defaults
 * (0.5, 0.5, 0.9) are ours.
 */
import { cast, less, not, type Tensor } from '../engine/graph/index'
import type { RecipeState, RecipeStepReport } from '../engine/train/run-hooks'
import { demonstrationParams, fromGrpo, grpoPart, rollingState, withGrpoState } from './grpo-demonstrations'
import { grpo, type GrpoParams } from './grpo'
import { grpoRollouts } from './grpo-online'
import { weightedSampleMean } from './loss-terms'
import type { Recipe } from './types'

export type SeeleParams = GrpoParams & {
  target_accuracy: number
  correct_reward: number
  hint_initial: number
  hint_rate: number
  hint_max: number
}

/** The hint share of each prompt seen so far, by its data line. */
type Hints = Record<string, number>

function hintsOf(state: RecipeState): Hints {
  return (state as { hints: Hints }).hints
}

/** The hint share of the prompt from `line`: its own, or hint_initial before its first step. */
export function hintShare(state: RecipeState, line: number, params: SeeleParams): number {
  return hintsOf(state)[line] ?? params.hint_initial
}

/** h after a step whose rollouts of the prompt were right `accuracy` of the time (see the module comment). */
export function nextHintShare(share: number, accuracy: number, params: SeeleParams): number {
  return Math.min(
    params.hint_max,
    Math.max(0, share + params.hint_rate * (params.target_accuracy - accuracy))
  )
}

/** Each prompt's rollout accuracy in the step: the share of its rows whose reward reaches correct_reward. */
function stepAccuracies(report: RecipeStepReport, params: SeeleParams): Map<number, number> {
  const rewards = report.result.perSample?.reward
  if (!rewards) throw new Error('seele: the step reported no rewards per row')
  const tallies = new Map<number, { correct: number; rows: number }>()
  report.rowLines.forEach((batch, b) =>
    batch.forEach(([line], row) => {
      const tally = tallies.get(line) ?? { correct: 0, rows: 0 }
      tally.correct += rewards[b][row] >= params.correct_reward ? 1 : 0
      tally.rows += 1
      tallies.set(line, tally)
    })
  )
  return new Map([...tallies].map(([line, { correct, rows }]) => [line, correct / rows]))
}

export const seele: Recipe<SeeleParams> = {
  name: 'seele',
  title: 'SEELE: RL with hints sized to the model',
  summary:
    'Reinforcement learning from rewards (grpo on the model’s own answers, scored by a reward spec) where ' +
    'each prompt is followed by the first part of its gold response as a hint, and the model writes the ' +
    'rest. The hint of each prompt grows while the model mostly fails it and shrinks while it mostly ' +
    'succeeds, so that about target_accuracy of its answers are right — where grpo learns fastest. The ' +
    'hint lengths are kept in checkpoints. The data are prompts with gold responses; needs a reward spec.',
  paper: {
    title:
      'Staying in the Sweet Spot: Responsive Reasoning Evolution via Capability-Adaptive Hint Scaffolding',
    authors:
      'Ziheng Li, Zexu Sun, Jinman Zhao, Erxue Min, Yongcheng Zeng, Hui Wu, Hengyi Cai, Shuaiqiang Wang, ' +
      'Dawei Yin, Xu Chen, Zhi-Hong Deng',
    year: 2025,
    arxiv: '2509.06923',
    url: 'https://arxiv.org/abs/2509.06923'
  },
  group: 'rl',
  params: [
    ...demonstrationParams('seele'),
    {
      name: 'target_accuracy',
      description: 'the share of right answers each prompt’s hint aims for (the paper’s sweet spot: 0.5)',
      type: 'number',
      default: 0.5,
      min: 0,
      max: 1
    },
    {
      name: 'correct_reward',
      description: 'an answer counts as right when its reward is at least this',
      type: 'number',
      default: 1,
      min: -1_000_000,
      max: 1_000_000
    },
    {
      name: 'hint_initial',
      description: 'the hint of a prompt not trained yet, as a share of its gold response’s tokens',
      type: 'number',
      default: 0.5,
      min: 0,
      max: 1
    },
    {
      name: 'hint_rate',
      description:
        'how far a step moves a hint share: by hint_rate × (target_accuracy − the prompt’s accuracy)',
      type: 'number',
      default: 0.5,
      min: 0,
      max: 10
    },
    {
      name: 'hint_max',
      description:
        'the longest hint, as a share of the gold response (below 1, so some of it is left to write)',
      type: 'number',
      default: 0.9,
      min: 0,
      max: 1
    }
  ],
  ...fromGrpo('seele', (params: SeeleParams) => {
    if (params.num_iterations !== 1) {
      throw new Error(
        `seele: num_iterations ${params.num_iterations}: the hints adapt once per round of rollouts, so each ` +
          'batch trains once; use 1'
      )
    }
  }),
  inputs: [
    ...(grpo.inputs ?? []),
    { name: 'hint', description: 'the hint share of each row’s prompt', per: 'sample', dtype: 'float32' }
  ],
  rollouts: {
    ...rollingState(grpoRollouts),
    plan: ({ line, demonstration }, { state }, params) => ({
      hint: demonstration.slice(0, Math.floor(hintShare(state, line, params) * demonstration.length))
    })
  },
  initialState: (params) => withGrpoState({ hints: {} }, params),
  updateState: (state, report, params) => {
    const hints = { ...hintsOf(state) }
    for (const [line, accuracy] of stepAccuracies(report, params)) {
      hints[line] = nextHintShare(hintShare(state, line, params), accuracy, params)
    }
    return withGrpoState({ hints }, params, grpo.updateState!(grpoPart(state), report, params))
  },
  batchInputs: (state, rows, params) => ({
    ...grpo.batchInputs!(grpoPart(state), rows, params),
    hint: Float32Array.from(rows.rowLines, ([line]) => hintShare(state, line, params))
  }),
  loss: (ctx) => {
    const result = grpo.loss(ctx)
    const reward = ctx.inputs.reward // (B)
    const float = (x: Tensor) => cast(x, ctx.tokenLogProbs.dtype)
    return {
      ...result,
      metrics: {
        ...result.metrics,
        'seele/hint_share': weightedSampleMean(ctx, float(ctx.inputs.hint)),
        'seele/accuracy': weightedSampleMean(ctx, float(not(less(reward, ctx.params.correct_reward))))
      },
      perSample: { ...result.perSample, reward }
    }
  }
}

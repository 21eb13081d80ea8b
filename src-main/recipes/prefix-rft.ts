/**
 * Prefix-RFT: grpo on the model's own samples where some of each group's completions start from a
 * prefix of the prompt's demonstration (its gold response) and the model continues it. Huang et
 * al., "Blending Supervised and Reinforcement Fine-Tuning with Prefix Sampling", 2025,
 * arXiv:2507.01679.
 *
 * Of the group's group_size completions, the last prefix_rollouts begin with the first ⌊f·n⌋
 * tokens of the n-token demonstration, f drawn uniformly from [prefix_min, prefix_max) for each of
 * them, seeded by (run seed, step, prompt line) so a resumed run draws the same lengths. The
 * prefix is part of the completion: its tokens are scored with the rest and trained (off-policy
 * tokens, pushed up when the group's rewards say the continuation did well), and these
 * completions share their group's advantages with the others. The loss is grpo's, unchanged.
 *
 * The constants are ours: one prefixed completion per group and fractions in [0.2, 0.8); the
 * paper's schedule of the prefix length over training and its entropy-based clipping of the
 * prefix tokens could not be read offline and are not here.
 */
import { demonstrationParams, fromGrpo } from './grpo-demonstrations'
import { grpo, type GrpoParams } from './grpo'
import { grpoRollouts } from './grpo-online'
import type { Recipe } from './types'

export type PrefixRftParams = GrpoParams & {
  prefix_rollouts: number
  prefix_min: number
  prefix_max: number
}

export const prefixRft: Recipe<PrefixRftParams> = {
  name: 'prefix-rft',
  title: 'Prefix-RFT: RL from prefixes of the demonstrations',
  summary:
    'Reinforcement learning from rewards (grpo on the model’s own answers, scored by a reward spec) where ' +
    'some answers of each group start with the first part of the prompt’s gold response, a randomly ' +
    'drawn share of it, and the model writes the rest. Those answers train with the others, the gold ' +
    'part included, so the model learns from the demonstration where its own answers fall short. The ' +
    'data are prompts with gold responses; needs a reward spec.',
  paper: {
    title: 'Blending Supervised and Reinforcement Fine-Tuning with Prefix Sampling',
    authors: 'Zeyu Huang, Tianhao Cheng, Zihan Qiu, Zili Wang, Yinghui Xu, Edoardo M. Ponti, Ivan Titov',
    year: 2025,
    arxiv: '2507.01679',
    url: 'https://arxiv.org/abs/2507.01679'
  },
  group: 'rl',
  params: [
    ...demonstrationParams('prefix-rft'),
    {
      name: 'prefix_rollouts',
      description:
        'completions of each group that start from a prefix of the demonstration (at most group_size)',
      type: 'integer',
      default: 1,
      min: 0,
      max: 256
    },
    {
      name: 'prefix_min',
      description: 'the shortest prefix, as a share of the demonstration’s tokens',
      type: 'number',
      default: 0.2,
      min: 0,
      max: 1
    },
    {
      name: 'prefix_max',
      description: 'the longest prefix share (drawn uniformly between prefix_min and this)',
      type: 'number',
      default: 0.8,
      min: 0,
      max: 1
    }
  ],
  ...fromGrpo('prefix-rft', (params: PrefixRftParams) => {
    if (params.prefix_rollouts > params.group_size) {
      throw new Error(
        `prefix-rft: prefix_rollouts ${params.prefix_rollouts} is more than group_size ${params.group_size}`
      )
    }
    if (params.prefix_min > params.prefix_max) {
      throw new Error(
        `prefix-rft: prefix_min ${params.prefix_min} is more than prefix_max ${params.prefix_max}`
      )
    }
  }),
  inputs: grpo.inputs,
  rollouts: {
    ...grpoRollouts,
    plan: ({ demonstration }, { rng }, params) => ({
      prefixes: Array.from({ length: params.prefix_rollouts }, () => {
        const share = rng.uniform(params.prefix_min, params.prefix_max)
        return demonstration.slice(0, Math.floor(share * demonstration.length))
      })
    })
  },
  initialState: grpo.initialState,
  updateState: grpo.updateState,
  batchInputs: grpo.batchInputs,
  loss: grpo.loss
}

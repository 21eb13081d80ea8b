/**
 * length_penalty: DAPO's soft overlong punishment (Yu et al., "DAPO: An Open-Source LLM
 * Reinforcement Learning System at Scale", arXiv:2503.14476, overlong reward shaping): with L_max
 * the length limit and L_cache the punishment interval,
 *
 *   0                              when |y| ≤ L_max − L_cache
 *   ((L_max − L_cache) − |y|) / L_cache   when L_max − L_cache < |y| ≤ L_max
 *   −1                             when |y| > L_max
 *
 * |y| is the completion's length in tokens when the row gives it (`completionTokens`: the trainer
 * tokenised it), else in characters (code points); the reason says which was read.
 */
import type { RewardFunction } from './types'

export const lengthPenalty: RewardFunction = {
  name: 'length_penalty',
  title: 'Overlong penalty (DAPO)',
  description:
    '0 up to max_length − cache_length, then falling linearly to −1 at max_length, −1 beyond. Length in tokens ' +
    'when the row gives a token count, else in characters.',
  paper: {
    title: 'DAPO: An Open-Source LLM Reinforcement Learning System at Scale',
    authors: 'Qiying Yu, Zheng Zhang, Ruofei Zhu, Yufeng Yuan, Xiaochen Zuo, Yu Yue, et al.',
    year: 2025,
    arxiv: '2503.14476',
    url: 'https://arxiv.org/abs/2503.14476'
  },
  params: [
    {
      name: 'max_length',
      type: 'integer',
      default: 4096,
      min: 1,
      description: 'L_max: from here on the penalty is −1'
    },
    {
      name: 'cache_length',
      type: 'integer',
      default: 1024,
      min: 1,
      description: 'L_cache: the interval before max_length over which the penalty grows from 0 to −1'
    }
  ],
  check(params) {
    if ((params.cache_length as number) > (params.max_length as number)) {
      throw new Error(
        `parameter cache_length (${params.cache_length}) must be ≤ max_length (${params.max_length})`
      )
    }
  },
  score(input, params) {
    const maxLength = params.max_length as number
    const cacheLength = params.cache_length as number
    const tokens = input.completionTokens
    const length = tokens ?? Array.from(input.completion).length
    const reason = `${length} ${tokens === undefined ? 'characters' : 'tokens'}`
    if (length <= maxLength - cacheLength) return { value: 0, reason }
    if (length > maxLength) return { value: -1, reason }
    return { value: (maxLength - cacheLength - length) / cacheLength, reason }
  }
}

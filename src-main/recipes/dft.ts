/**
 * Dynamic Fine-Tuning (DFT): each token's NLL times its own probability, with the probability
 * held constant (stop-gradient), so the gradient is p·∇(−log p) = −∇p: tokens the model finds
 * unlikely no longer dominate the update as 1/p does in SFT's gradient.
 *
 * Wu et al., "On the Generalization of SFT: A Reinforcement Learning Perspective with Reward
 * Rectification", 2025, arXiv:2508.05629. Averaged over trained tokens like SFT (token-mean).
 */
import { mul } from '../engine/graph/index'
import { detachedTokenProb, tokenNll, weightedTokenMean } from './loss-terms'
import type { Recipe } from './types'

export const dft: Recipe = {
  name: 'dft',
  title: 'Dynamic Fine-Tuning (DFT)',
  summary:
    "SFT with each token's loss rescaled by the probability the model currently gives that token " +
    '(held constant, no gradient through it). This rectifies the implicit reward of SFT, whose ' +
    'gradient is dominated by tokens the model finds unlikely, and was reported to generalise better ' +
    'than SFT on math reasoning. A one-line change of the loss; no extra cost.',
  paper: {
    title: 'On the Generalization of SFT: A Reinforcement Learning Perspective with Reward Rectification',
    authors:
      'Yongliang Wu, Yizhou Zhou, Zhou Ziheng, Yingzhe Peng, Xinyu Ye, Xinting Hu, Wenbo Zhu, Lu Qi, ' +
      'Ming-Hsuan Yang, Xu Yang',
    year: 2025,
    arxiv: '2508.05629',
    url: 'https://arxiv.org/abs/2508.05629'
  },
  group: 'sft',
  params: [],
  needs: {},
  loss: (ctx) => {
    const nll = tokenNll(ctx)
    return {
      loss: weightedTokenMean(ctx, mul(nll, detachedTokenProb(ctx))),
      metrics: { nll: weightedTokenMean(ctx, nll) }
    }
  }
}

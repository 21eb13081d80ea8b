/**
 * Anchored Supervised Fine-Tuning (ASFT): DFT plus λ·KL(p_base ‖ p) per trained token, the KL
 * from the frozen base model's next-token distribution to the trained model's, over the whole
 * vocabulary, averaged over the same tokens as the DFT term:
 *
 *   loss = mean over trained tokens of [ −log p(y)·sg(p(y)) + λ · Σ_v p_base(v)(log p_base(v) − log p(v)) ]
 *
 * Zhu et al., "Anchored Supervised Fine-Tuning", 2025, arXiv:2509.23753. The KL direction and the
 * default λ = 0.1 follow the authors' code (github.com/zhuchichi56/ASFT, train.py: `kl_weight`
 * default 0.1, `F.kl_div(log_softmax(model), softmax(base))`, i.e. KL(base ‖ model)); their README
 * example uses 0.05. For LoRA the base is the same model with the adapter switched off.
 */
import { add, mul } from '../engine/graph/index'
import { detachedTokenProb, klFromBase, tokenNll, weightedTokenMean } from './loss-terms'
import type { Recipe } from './types'

export type AsftParams = { kl_weight: number }

export const asft: Recipe<AsftParams> = {
  name: 'asft',
  title: 'Anchored Supervised Fine-Tuning (ASFT)',
  summary:
    'DFT anchored to the starting model: the DFT loss plus kl_weight times the KL divergence from the ' +
    "frozen base model's next-token distribution to the trained model's, at every trained token. The " +
    "anchor keeps DFT's reweighting from drifting away from the base distribution, which made DFT " +
    'unstable on knowledge-heavy tasks. Costs one extra forward pass of the base model per step (for ' +
    'LoRA, the same model with the adapter switched off).',
  paper: {
    title: 'Anchored Supervised Fine-Tuning',
    authors: 'He Zhu, Junyou Su, Peng Lai, Ren Ma, Wenjia Zhang, Linyi Yang, Guanhua Chen',
    year: 2025,
    arxiv: '2509.23753',
    url: 'https://arxiv.org/abs/2509.23753'
  },
  group: 'sft',
  params: [
    {
      name: 'kl_weight',
      description: "λ, the weight of the KL anchor to the base model (the authors' default 0.1)",
      type: 'number',
      default: 0.1,
      min: 0,
      max: 100
    }
  ],
  needs: { fullLogProbs: true, baseModelLogits: true },
  loss: (ctx) => {
    const nll = tokenNll(ctx)
    const dftTerm = mul(nll, detachedTokenProb(ctx)) // (B, S)
    const kl = klFromBase(ctx, 'asft') // (B, S)
    return {
      loss: weightedTokenMean(ctx, add(dftTerm, mul(kl, ctx.params.kl_weight))),
      metrics: {
        nll: weightedTokenMean(ctx, nll),
        dft: weightedTokenMean(ctx, dftTerm),
        kl: weightedTokenMean(ctx, kl)
      }
    }
  }
}

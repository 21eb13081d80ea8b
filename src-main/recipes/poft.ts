/**
 * PoFT, preference-oriented supervised fine-tuning: SFT data, trained with a Bradley–Terry
 * preference for the target model over a reference on the same response. Fan et al.,
 * "Preference-Oriented Supervised Fine-Tuning: Favoring Target Model Over Aligned Large Language
 * Models", AAAI 2025, arXiv:2412.12865.
 *
 * The rule is the one of the authors' released code (github.com/Savannah120/alignment-handbook-PoFT,
 * scripts/run_poft.py `PoFTTrainer.compute_loss`). A row's score is its MEAN log-probability over
 * its trained tokens (length-normalised, not a sum), s = Σ_t log p(y_t) / |y|; with s_θ the trained
 * model's and s_ref the reference's score of the same row,
 *
 *   ℓ_b  = −log σ(β·(s_θ − s_ref) + γ)
 *   loss = mean over the step's rows (weighted by their sample weights)
 *
 * with β = 1 and γ = 0 hard-coded there (here the defaults). The loss is the whole objective: no
 * cross-entropy term is added (the released trainer only logs it). Its gradient is the SFT gradient
 * of the mean log-probability scaled by β·σ(−β·(s_θ − s_ref) − γ), so a response the reference
 * already finds likely (good data, by the paper's reading) keeps more weight than one it does not.
 *
 * The reference. In the paper s_ref is the mean of the scores of several aligned LLMs
 * (generate_preference_scores.py, merge_prefrence_scores.py: zephyr-7b-sft-full, Yi-6B-Chat and
 * Llama-3-8B-Instruct, scored once before training). Here it is the frozen starting model's own
 * score, computed in the same step (for LoRA the same graph with the adapter off, for full
 * fine-tuning the initial weights), which needs no other model and works on any SFT dataset: the
 * preference then asks the model to improve on where it started, and each row's weight falls as
 * the model gets ahead of its start on it. Per-sample scores from aligned models as data are not
 * read yet.
 *
 * Metrics: the step's mean target and reference scores, and the share of rows the target wins.
 * A token weight other than 1 (span-weights data) weighs its token in both means alike.
 */
import { add, cast, greater, mul, neg, stopGradient, sub } from '../engine/graph/index'
import { logSigmoid, rowTokenMean, weightedSampleMean } from './loss-terms'
import type { Recipe } from './types'

export type PoftParams = { beta: number; gamma: number }

export const poft: Recipe<PoftParams> = {
  name: 'poft',
  title: 'PoFT (preference-oriented SFT)',
  summary:
    'SFT on ordinary instruction data where, instead of only raising the likelihood of each response, ' +
    'the model is trained to prefer it more than a reference model does (a Bradley\u2013Terry loss on ' +
    'the per-token mean log-likelihoods). Responses the reference already finds likely keep more ' +
    'weight, so noisy samples pull less. The paper\u2019s reference is the average of several aligned ' +
    'chat models; here it is the starting model itself (one extra forward pass per step; for LoRA the ' +
    'same model with the adapter off), so no other model is needed. beta scales the score gap and ' +
    'gamma adds a margin; the defaults (1 and 0) are those of the authors\u2019 released code.',
  paper: {
    title:
      'Preference-Oriented Supervised Fine-Tuning: Favoring Target Model Over Aligned Large Language Models',
    authors: 'Yuchen Fan, Yuzhong Hong, Qiushi Wang, Junwei Bao, Hongfei Jiang, Yang Song',
    year: 2025,
    arxiv: '2412.12865',
    url: 'https://arxiv.org/abs/2412.12865'
  },
  group: 'preference',
  params: [
    {
      name: 'beta',
      description: 'β > 0, the scale of the score gap s_θ − s_ref inside the sigmoid (released code: 1)',
      type: 'number',
      default: 1,
      min: 1e-6,
      max: 100
    },
    {
      name: 'gamma',
      description: 'γ, a margin added to β·(s_θ − s_ref) (released code: 0)',
      type: 'number',
      default: 0,
      min: -100,
      max: 100
    }
  ],
  needs: { baseModelLogits: true },
  loss: (ctx) => {
    const { beta, gamma } = ctx.params
    const target = rowTokenMean(ctx, ctx.tokenLogProbs) // (B)
    const reference = rowTokenMean(ctx, ctx.baseTokenLogProbs!) // (B), stop-gradient already
    const preference = add(mul(sub(target, reference), beta), gamma) // (B)
    const detachedTarget = stopGradient(target)
    return {
      loss: weightedSampleMean(ctx, neg(logSigmoid(preference))),
      metrics: {
        'scores/target': weightedSampleMean(ctx, detachedTarget),
        'scores/reference': weightedSampleMean(ctx, reference),
        'scores/accuracies': weightedSampleMean(
          ctx,
          cast(greater(detachedTarget, reference), ctx.labelMask.dtype)
        )
      }
    }
  }
}

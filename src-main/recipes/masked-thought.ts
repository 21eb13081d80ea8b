/**
 * Masked Thought: each response token is replaced in the INPUT by a mask token with probability p,
 * drawn anew every epoch; the labels keep the original tokens, so the model learns to predict the
 * next step from a partly hidden chain of thought (a regulariser that strengthens dependence on the
 * question and on earlier steps).
 *
 * Chen et al., "Masked Thought: Simply Masking Partial Reasoning Steps Can Improve Mathematical
 * Reasoning Learning of Language Models", ACL 2024, arXiv:2403.02178. The rule (independent
 * Bernoulli(p) per response token) follows the authors' README
 * (github.com/ChangyuChen347/MaskedThought); p = 0.4 is the `--max_mask_rate` of their GSM8K script
 * (training_scripts/run_llama2_7b_gsm8k_mft.sh), which also ramps the rate up over the first 66% of
 * training (`--mask_rate_warmup 0.66`); this recipe uses the constant rate.
 */
import { IGNORE_INDEX } from '../engine/tokenizer/labels'
import { sft } from './sft'
import type { Recipe } from './types'

export const maskedThought: Recipe = {
  name: 'masked-thought',
  title: 'Masked Thought',
  summary:
    'SFT where a random share of the response tokens the model reads is hidden behind a mask token ' +
    '(new draws every epoch), while it still has to predict the original tokens. Reported to improve ' +
    'math reasoning over plain SFT (GSM8K +5% on Llama-2-7B). The default rate 0.4 is the one of the ' +
    "authors' GSM8K script, which ramps the rate up during training; here it is constant.",
  paper: {
    title:
      'Masked Thought: Simply Masking Partial Reasoning Steps Can Improve Mathematical Reasoning Learning of Language Models',
    authors:
      'Changyu Chen, Xiting Wang, Ting-En Lin, Ang Lv, Yuchuan Wu, Xin Gao, Ji-Rong Wen, Rui Yan, Yongbin Li',
    year: 2024,
    arxiv: '2403.02178',
    url: 'https://arxiv.org/abs/2403.02178'
  },
  group: 'sft',
  params: [
    {
      name: 'mask_rate',
      type: 'number',
      default: 0.4,
      min: 0,
      max: 1,
      description: 'Probability that a response token is masked in the input.'
    }
  ],
  needs: {},
  loss: sft.loss,
  transform: {
    level: 'token',
    apply: (example, ctx) => {
      const rate = ctx.params.mask_rate as number
      const inputIds = Int32Array.from(example.inputIds)
      for (let t = 0; t < inputIds.length; t++) {
        if (example.labels[t] !== IGNORE_INDEX && ctx.rng.float() < rate) inputIds[t] = ctx.maskTokenId
      }
      return { ...example, inputIds }
    }
  }
}

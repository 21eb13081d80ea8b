/** Plain supervised fine-tuning: the weighted mean negative log-likelihood of the trained tokens. */
import { tokenNll, weightedTokenMean } from './loss-terms'
import type { Recipe } from './types'

export const sft: Recipe = {
  name: 'sft',
  title: 'Supervised fine-tuning',
  summary:
    'Maximise the likelihood of the demonstrations: the loss is the mean negative log-likelihood over ' +
    'every trained token of the batch (prompts and other unlabelled tokens are masked), each token ' +
    "weighted by its data weight (a message's loss_weight), relative to the others.",
  paper: null,
  group: 'sft',
  params: [],
  needs: {},
  loss: (ctx) => ({ loss: weightedTokenMean(ctx, tokenNll(ctx)) })
}

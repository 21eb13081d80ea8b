/**
 * GRAPE: among the candidate responses to each instruction, train only the one the base model finds
 * most likely, then plain SFT on the kept rows.
 *
 * Zhang, Dai and Peng, "The Best Instruction-Tuning Data are Those That Fit", 2025,
 * arXiv:2502.04194: for each instruction, responses are gathered from several sources and the one
 * with the highest length-normalised probability under the target model is kept. We normalise as
 * the mean log-probability per response token (the geometric-mean probability); the paper's exact
 * normalisation formula could not be read offline, only the abstract and project page's
 * "normalized probability" / "length-normalized probability".
 *
 * Candidates are rows with the same prompt (selection.ts, `promptKey`): a dataset in any format
 * the datasets room keeps expresses them as several rows that share their instruction.
 */
import type { ScoredCandidate } from '../engine/train/run-hooks'
import { sft } from './sft'
import type { Recipe } from './types'

/** The candidate's score: mean log-probability per token, or the total when not normalised. */
export function candidateScore({ logprob, tokens }: ScoredCandidate, lengthNormalise: boolean): number {
  return lengthNormalise ? logprob / tokens : logprob
}

/** Index of the best-scoring candidate; the earliest row wins a tie. */
export function mostLikelyCandidate(
  candidates: readonly ScoredCandidate[],
  lengthNormalise: boolean
): number {
  const scores = candidates.map((candidate) => candidateScore(candidate, lengthNormalise))
  return scores.reduce((best, score, i) => (score > scores[best] ? i : best), 0)
}

export const grape: Recipe = {
  name: 'grape',
  title: 'GRAPE (responses that fit the model)',
  summary:
    'Data selection for SFT: when an instruction has several candidate responses (rows with the same ' +
    'prompt), the base model scores each once before training and only the one it finds most likely ' +
    'is trained; the others are left out and listed as dropped rows. Responses close to what the model ' +
    'already writes were found to fine-tune better than responses from stronger but unlike sources. ' +
    'Likelihood is the mean log-probability per response token by default; the paper’s exact ' +
    'normalisation could not be checked offline. Instructions with a single response train as they are.',
  paper: {
    title: 'The Best Instruction-Tuning Data are Those That Fit',
    authors: 'Dylan Zhang, Qirun Dai, Hao Peng',
    year: 2025,
    arxiv: '2502.04194',
    url: 'https://arxiv.org/abs/2502.04194'
  },
  group: 'selection',
  params: [
    {
      name: 'length_normalise',
      type: 'boolean',
      default: true,
      description:
        'Compare candidates by mean log-probability per token (true) or by total log-probability (false, favours short responses).'
    }
  ],
  needs: {},
  loss: sft.loss,
  select: {
    stage: 'before-training',
    keep: (candidates, params) => [mostLikelyCandidate(candidates, params.length_normalise as boolean)]
  }
}

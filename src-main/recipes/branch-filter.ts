/**
 * Branch filter: long chain-of-thought trajectories that branch often ("Wait", "Alternatively",
 * "Hmm", …) are left out of training. A trajectory's branching score is the number of branching
 * markers per 1,000 words of its assistant turns; rows scoring above the threshold are dropped.
 *
 * Li et al., "On the Role of Reasoning Patterns in the Generalization Discrepancy of Long
 * Chain-of-Thought Supervised Fine-Tuning", 2026, arXiv:2604.01702: SFT on branch-heavy
 * trajectories generalised worse, and filtering out frequently branching ones improved it. The
 * marker list and the default threshold here are ours, not the paper's exact filter.
 */
import { sft } from './sft'
import type { Recipe } from './types'

/** Words that open a new branch of reasoning, matched as whole words, case-sensitively at a capital. */
export const BRANCHING_MARKERS: readonly string[] = [
  'Wait',
  'But wait',
  'Alternatively',
  'Hmm',
  'Let me reconsider',
  'On second thought',
  'Actually'
]

const MARKER_PATTERN = new RegExp(
  `\\b(?:${[...BRANCHING_MARKERS].sort((a, b) => b.length - a.length).join('|')})\\b`,
  'g'
)

/**
 * Branching markers per 1,000 words of `text` (0 for empty text): the score the recipe filters on,
 * shown to users beside a sample. "But wait" counts once.
 */
export function branchingScore(text: string): number {
  const words = text.split(/\s+/).filter((word) => word !== '').length
  if (words === 0) return 0
  return ((text.match(MARKER_PATTERN)?.length ?? 0) * 1000) / words
}

export const branchFilter: Recipe = {
  name: 'branch-filter',
  title: 'Branch filter (long CoT)',
  summary:
    'SFT on long chain-of-thought data without the trajectories that branch too often ("Wait", ' +
    '"Alternatively", "Hmm", …): a row whose responses hold more branching markers per 1,000 words ' +
    'than the threshold is left out. Branch-heavy traces were found to teach redundant exploration ' +
    'and generalise worse. The marker list and the default threshold are ours, not the paper’s.',
  paper: {
    title:
      'On the Role of Reasoning Patterns in the Generalization Discrepancy of Long Chain-of-Thought Supervised Fine-Tuning',
    authors:
      'Zhaoyi Li, Xiangyu Xi, Zhengyu Chen, Wei Wang, Gangwei Jiang, Ranran Shen, Linqi Song, Ying Wei, Defu Lian',
    year: 2026,
    arxiv: '2604.01702',
    url: 'https://arxiv.org/abs/2604.01702'
  },
  group: 'selection',
  params: [
    {
      name: 'max_markers_per_1k_words',
      type: 'number',
      default: 10,
      min: 0,
      max: 1000,
      description: 'Rows whose responses score above this are left out.'
    }
  ],
  needs: {},
  loss: sft.loss,
  transform: {
    level: 'conversation',
    apply: (conversation, ctx) => {
      const responses = conversation.messages
        .filter((message) => message.role === 'assistant')
        .map((message) => [message.reasoning_content ?? '', message.content].join('\n'))
        .join('\n')
      return branchingScore(responses) > (ctx.params.max_markers_per_1k_words as number) ? null : conversation
    }
  }
}

/**
 * Self-correction format: each training row becomes a review conversation — the question, a first
 * answer (untrained), the review prompt self-correction evaluation asks, and a trained second answer
 * that either confirms the first (it was right) or revises it (it was wrong).
 *
 * Yang, Zhang, Wang, Xu, Lin & Sui, "Confidence v.s. Critique: A Decomposition of Self-Correction
 * Capability for LLMs", ACL 2025, arXiv:2412.19513: self-correction splits into confidence (keeping
 * a right answer) and critique (turning a wrong one right), and transforming the SFT data format
 * so both are trained (their CCT) improves both over plain SFT. The paper's exact templates are
 * not in its abstract nor its released (evaluation-only) code, so the rule here is ours: a
 * preference row's rejected response is the wrong first answer and the chosen one its revision;
 * any other row shows its gold answer first and trains the confirmation. The review prompt is the
 * one eval/self-correction measures with, so training and evaluation ask the same question.
 */
import { DEFAULT_REVIEW_PROMPT } from '../../src-preload/contract/evaluations'
import type { ChatMessage } from '../engine/tokenizer/chat-template'
import type { Conversation } from '../engine/train/run-hooks'
import { sft } from './sft'
import type { Recipe } from './types'

/** How the trained second answer opens when the first answer was right, then the answer again. */
export const CONFIRM_LEAD = 'My previous answer is correct.'
/** How it opens when the first answer was wrong, then the right answer. */
export const REVISE_LEAD = 'My previous answer is wrong. The correct answer:'

export const selfCorrectionFormat: Recipe = {
  name: 'self-correction-format',
  title: 'Self-correction format (confidence and critique)',
  summary:
    'SFT on review conversations: after the question and a first answer, the review prompt of the ' +
    'self-correction evaluation asks the model to check it, and the model is trained to confirm a ' +
    'right answer or to revise a wrong one. Rows with a rejected response show it as the wrong first ' +
    'answer and train the revision to the chosen one; other rows train the confirmation. Training ' +
    'both patterns was found to raise accuracy after self-correction over plain SFT. The paper’s ' +
    'exact wording could not be found; the confirm and revise lines are ours.',
  paper: {
    title: 'Confidence v.s. Critique: A Decomposition of Self-Correction Capability for LLMs',
    authors: 'Zhe Yang, Yichang Zhang, Yudong Wang, Ziyao Xu, Junyang Lin, Zhifang Sui',
    year: 2025,
    arxiv: '2412.19513',
    url: 'https://arxiv.org/abs/2412.19513'
  },
  group: 'sft',
  params: [
    {
      name: 'format_rate',
      type: 'number',
      default: 1,
      min: 0,
      max: 1,
      description: 'Share of rows per epoch trained in the review format (the rest train as plain SFT).'
    }
  ],
  needs: {},
  loss: sft.loss,
  transform: {
    level: 'conversation',
    apply: (conversation, ctx) => {
      if (ctx.rng.float() >= (ctx.params.format_rate as number)) return plainConversation(conversation)
      return reviewConversation(conversation)
    }
  }
}

/** The row as plain SFT trains it: the rejected side is not shown. */
function plainConversation({ messages, tools }: Conversation): Conversation {
  return { messages, tools }
}

/**
 * Q → first answer (untrained) → review prompt → confirm or revise. A row whose last turn is not an
 * assistant's has no answer to review and is trained as it is.
 */
function reviewConversation({ messages, tools, rejected }: Conversation): Conversation {
  const answerAt = messages.length - 1
  const answer = messages[answerAt]
  if (answer?.role !== 'assistant') return { messages, tools }
  const wrong = rejected?.at(-1)
  const revise = wrong?.role === 'assistant' && wrong.content !== answer.content
  const firstAnswer: ChatMessage = { ...(revise ? wrong : answer), loss_weight: 0 }
  const lead = revise ? REVISE_LEAD : CONFIRM_LEAD
  return {
    messages: [
      ...messages.slice(0, answerAt),
      firstAnswer,
      { role: 'user', content: DEFAULT_REVIEW_PROMPT },
      { ...answer, content: `${lead}\n\n${answer.content}` }
    ],
    tools
  }
}

/**
 * Training examples: token ids, labels (−100 where the loss ignores a token) and per-token loss
 * weights. Labels sit at the same positions as the input ids (`labels[t] = inputIds[t]` for trained
 * tokens), as in transformers; the loss shifts them (logits at t predict labels[t + 1]).
 *
 * Character spans become token ranges by encoding prefixes: the whole text is encoded once, and
 * for a span boundary at character b the text before b is encoded alone. If that is a prefix of the
 * whole encoding, b falls between tokens. If not, a token of the whole encoding straddles b (BPE
 * merged across it) and counts as inside the span, like transformers' `return_assistant_tokens_mask`,
 * which marks every token that holds any assistant character. (Exact when one token straddles; if
 * BPE re-segments several tokens around a boundary, the first differing one is taken as the
 * straddler.) With Llama 3 and Qwen chat templates spans begin after a newline or a special token
 * and end with one, so boundaries fall between tokens. Cost: one extra encoding of a prefix per
 * span boundary.
 */
import {
  renderTrainingSequences,
  renderWithAssistantSpans,
  type AssistantSpan,
  type RenderedConversation
} from './assistant-spans'
import { chatTemplateFor, type ChatMessage, type ChatRenderOptions, type ChatTemplate } from './chat-template'
import { templateDrops, type TemplateDrop } from './template-drops'
import type { TextTokenizer } from './tokenizer'

export const IGNORE_INDEX = -100

export interface TokenizedExample {
  inputIds: number[]
  /** inputIds[t] where token t is trained, IGNORE_INDEX elsewhere. */
  labels: number[]
  /** The loss weight of token t: its message's loss_weight (default 1) where trained, 0 elsewhere. */
  weights: number[]
}

export interface WeightedSpan {
  start: number
  end: number
  weight: number
}

/** Encodes `text` without adding special tokens and labels the tokens that overlap the spans. */
export function labelCharacterSpans(
  tokenizer: TextTokenizer,
  text: string,
  spans: readonly WeightedSpan[]
): TokenizedExample {
  const inputIds = tokenizer.encode(text, { addSpecialTokens: false })
  const labels = new Array<number>(inputIds.length).fill(IGNORE_INDEX)
  const weights = new Array<number>(inputIds.length).fill(0)
  const boundary = (position: number, side: 'start' | 'end'): number => {
    if (position <= 0) return 0
    if (position >= text.length) return inputIds.length
    const prefix = tokenizer.encode(text.slice(0, position), { addSpecialTokens: false })
    let common = 0
    while (common < prefix.length && prefix[common] === inputIds[common]) common++
    if (common === prefix.length) return common
    // inputIds[common] straddles the boundary: it belongs to the span on either side.
    return side === 'start' ? common : common + 1
  }
  for (const span of spans) {
    const first = boundary(span.start, 'start')
    const last = boundary(span.end, 'end')
    for (let t = first; t < last; t++) {
      labels[t] = inputIds[t]
      weights[t] = span.weight
    }
  }
  return { inputIds, labels, weights }
}

export interface ChatEncodeOptions extends Omit<ChatRenderOptions, 'addGenerationPrompt'> {
  /** Defaults to the tokenizer's own template, or the fallback template when it has none. */
  template?: ChatTemplate
}

export interface ChatTrainingSequences {
  /** The sequences the conversation trains as (see renderTrainingSequences), tokenized and labelled. */
  sequences: (TokenizedExample & { text: string })[]
  /** What the template leaves out of the conversation (see template-drops.ts); empty when nothing. */
  drops: TemplateDrop[]
}

/**
 * A conversation rendered with the chat template and tokenized, assistant turns labelled (content
 * and end-of-turn token; see assistant-spans.ts), each weighted by its `loss_weight` (default 1; 0
 * leaves the turn untrained), as one sequence or more when the template rewrites earlier turns. The
 * template supplies bos, so no special tokens are added.
 */
export function encodeChatSequences(
  tokenizer: TextTokenizer,
  messages: readonly ChatMessage[],
  options: ChatEncodeOptions = {}
): ChatTrainingSequences {
  const template = options.template ?? chatTemplateFor(tokenizer, { forTools: Boolean(options.tools) })
  const rendered = renderTrainingSequences(template, messages, {
    tools: options.tools,
    variables: options.variables,
    endOfTurnMarkers: tokenizer.specialTokens
  })
  const sequences = rendered.map((sequence) => labelRendered(tokenizer, messages, sequence))
  return { sequences, drops: templateDrops(messages, rendered) }
}

/**
 * The same as one sequence, for callers that score a conversation whole: throws when the template
 * needs more than one (see renderWithAssistantSpans).
 */
export function encodeChatForTraining(
  tokenizer: TextTokenizer,
  messages: readonly ChatMessage[],
  options: ChatEncodeOptions = {}
): TokenizedExample & { text: string } {
  const template = options.template ?? chatTemplateFor(tokenizer, { forTools: Boolean(options.tools) })
  const rendered = renderWithAssistantSpans(template, messages, {
    tools: options.tools,
    variables: options.variables,
    endOfTurnMarkers: tokenizer.specialTokens
  })
  return labelRendered(tokenizer, messages, rendered)
}

/** The spans of a rendering weighted by their turns' loss_weight (default 1). */
export function weightedSpans(
  messages: readonly ChatMessage[],
  rendered: RenderedConversation
): (AssistantSpan & WeightedSpan)[] {
  return rendered.spans.map((span) => ({ ...span, weight: messages[span.messageIndex].loss_weight ?? 1 }))
}

function labelRendered(
  tokenizer: TextTokenizer,
  messages: readonly ChatMessage[],
  rendered: RenderedConversation
): TokenizedExample & { text: string } {
  return {
    text: rendered.text,
    ...labelCharacterSpans(tokenizer, rendered.text, weightedSpans(messages, rendered))
  }
}

export type PromptCompletion =
  | { prompt: string; completion: string }
  | { prompt: readonly ChatMessage[]; completion: readonly ChatMessage[] }

/**
 * The prompt/completion form. Plain text: bos (when the tokenizer adds one) + prompt + completion +
 * eos, with the completion and eos trained. Conversational: the messages rendered with the chat
 * template, training only the completion's assistant turns.
 */
export function encodePromptCompletion(
  tokenizer: TextTokenizer,
  example: PromptCompletion,
  options: ChatEncodeOptions & { addEos?: boolean } = {}
): TokenizedExample {
  if (typeof example.prompt !== 'string') {
    const prompt = example.prompt.map((message) => ({ ...message, loss_weight: 0 }))
    return encodeChatForTraining(
      tokenizer,
      [...prompt, ...(example.completion as readonly ChatMessage[])],
      options
    )
  }
  const text = example.prompt + (example.completion as string)
  const body = labelCharacterSpans(tokenizer, text, [
    { start: example.prompt.length, end: text.length, weight: 1 }
  ])
  const bos = tokenizer.addsBos && tokenizer.bos ? [tokenizer.bos.id] : []
  const eos = (options.addEos ?? true) && tokenizer.eos ? [tokenizer.eos.id] : []
  return {
    inputIds: [...bos, ...body.inputIds, ...eos],
    labels: [...bos.map(() => IGNORE_INDEX), ...body.labels, ...eos],
    weights: [...bos.map(() => 0), ...body.weights, ...eos.map(() => 1)]
  }
}

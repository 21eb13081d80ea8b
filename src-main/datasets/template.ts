/**
 * A sample seen through a base model's chat template and tokenizer: the rendered text with its
 * trained (loss-carrying) spans, token counts, and the pre-flight checks that catch samples a run
 * would silently drop or cut. Uses the same rendering and labelling as training
 * (engine/tokenizer), so what the preview shows is what the trainer sees. Messages reach the
 * template as stored, as transformers hands message dicts over: reasoning_content is rendered by
 * templates that read it (Qwen3's <think> block), and a message's metadata by none.
 */
import type {
  Conversation,
  ConversationMessage,
  PreflightProblemKind,
  TemplatePreview
} from '../../src-preload/contract'
import { renderTrainingSequences } from '../engine/tokenizer/assistant-spans'
import { chatTemplateFor, type ChatMessage } from '../engine/tokenizer/chat-template'
import { IGNORE_INDEX, labelCharacterSpans, weightedSpans } from '../engine/tokenizer/labels'
import { describeTemplateDrops, templateDrops, type TemplateDrop } from '../engine/tokenizer/template-drops'
import { loadTokenizer, type TextTokenizer } from '../engine/tokenizer/tokenizer'
import { completionStart } from './normalise'

const tokenizers = new Map<string, TextTokenizer>()

/** Loading a tokenizer.json takes a while; each folder's tokenizer is loaded once per thread. */
export function cachedTokenizer(dir: string): TextTokenizer {
  let tokenizer = tokenizers.get(dir)
  if (!tokenizer) {
    tokenizer = loadTokenizer(dir)
    tokenizers.set(dir, tokenizer)
  }
  return tokenizer
}

/** The messages of one side of a sample: the conversation, or (rejected) its prompt + the rejected completion. */
export function sideMessages(conversation: Conversation, side: 'chosen' | 'rejected'): ConversationMessage[] {
  if (side === 'chosen' || !conversation.rejected) return conversation.messages
  return [...conversation.messages.slice(0, completionStart(conversation.messages)), ...conversation.rejected]
}

export interface RenderedSequence {
  text: string
  spans: TemplatePreview['spans']
  inputIds: number[]
  labels: number[]
}

export interface RenderedSample {
  /** The sequences the sample trains as; the first is the whole conversation (see TemplatePreview). */
  sequences: RenderedSequence[]
  /** What the template leaves out (see template-drops.ts). */
  drops: TemplateDrop[]
  template: string
}

/**
 * Renders and labels a sample as the trainer would (data.ts): a conversation through the chat
 * template, a raw text as bos + text + eos, every token trained. Throws when the template refuses it.
 */
export function renderSample(
  tokenizer: TextTokenizer,
  conversation: Conversation,
  side: 'chosen' | 'rejected' = 'chosen'
): RenderedSample {
  if (conversation.text !== undefined) return renderRawText(tokenizer, conversation.text)
  const messages = sideMessages(conversation, side) as ChatMessage[]
  const tools = conversation.tools ?? null
  const template = chatTemplateFor(tokenizer, { forTools: tools !== null })
  const rendered = renderTrainingSequences(template, messages, {
    tools,
    endOfTurnMarkers: tokenizer.specialTokens
  })
  const sequences = rendered.map((sequence) => {
    const spans = weightedSpans(messages, sequence)
    return { text: sequence.text, spans, ...labelCharacterSpans(tokenizer, sequence.text, spans) }
  })
  return { sequences, drops: templateDrops(messages, rendered), template: template.name }
}

function renderRawText(tokenizer: TextTokenizer, text: string): RenderedSample {
  const bos = tokenizer.addsBos && tokenizer.bos ? tokenizer.bos.text : ''
  const eos = tokenizer.eos ? tokenizer.eos.text : ''
  const whole = bos + text + eos
  const spans = [{ start: 0, end: whole.length, messageIndex: 0, weight: 1 }]
  const { inputIds, labels } = labelCharacterSpans(tokenizer, whole, spans)
  return { sequences: [{ text: whole, spans, inputIds, labels }], drops: [], template: 'raw text' }
}

export function trainedTokenCount(labels: readonly number[]): number {
  // The trainer never trains the first token (nothing precedes it).
  let trained = 0
  for (let t = 1; t < labels.length; t++) if (labels[t] !== IGNORE_INDEX) trained++
  return trained
}

/** The token count of a conversation's rendering (no labelling: cheaper, for counting many samples). */
export function renderedTokenCount(tokenizer: TextTokenizer, conversation: Conversation): number {
  if (conversation.text !== undefined)
    return renderRawText(tokenizer, conversation.text).sequences[0].inputIds.length
  const tools = conversation.tools ?? null
  const template = chatTemplateFor(tokenizer, { forTools: tools !== null })
  const text = template.render(conversation.messages as ChatMessage[], { tools })
  return tokenizer.encode(text, { addSpecialTokens: false }).length
}

export interface PreflightProblem {
  kind: PreflightProblemKind
  detail: string
  tokenCount: number | null
}

/** What would go wrong training on this sample with this tokenizer and maximum length, if anything. */
export function preflightSample(
  tokenizer: TextTokenizer,
  conversation: Conversation,
  maxLength: number
): PreflightProblem | null {
  let rendered: RenderedSample
  try {
    rendered = renderSample(tokenizer, conversation)
  } catch (error) {
    return { kind: 'template_error', detail: (error as Error).message, tokenCount: null }
  }
  const [whole] = rendered.sequences
  const tokens = whole.inputIds.length
  if (rendered.drops.length > 0) {
    return {
      kind: 'template_drops',
      detail: describeTemplateDrops(rendered.drops),
      tokenCount: tokens
    }
  }
  if (whole.text.trim() === '' || tokens === 0) {
    return {
      kind: 'empty',
      detail: 'the chat template renders this sample as empty text',
      tokenCount: tokens
    }
  }
  const trained = rendered.sequences.reduce((n, sequence) => n + trainedTokenCount(sequence.labels), 0)
  if (trained === 0) {
    return {
      kind: 'no_trainable_tokens',
      detail: 'no assistant turn is trained (every assistant turn has loss_weight 0 or renders empty)',
      tokenCount: tokens
    }
  }
  // A raw text is cut into windows of the maximum length, so nothing of it is lost.
  const longest = rendered.sequences.reduce((a, b) => (b.inputIds.length > a.inputIds.length ? b : a))
  if (conversation.text === undefined && longest.inputIds.length > maxLength) {
    const kept = rendered.sequences.reduce(
      (n, sequence) => n + trainedTokenCount(sequence.labels.slice(0, maxLength)),
      0
    )
    return {
      kind: 'too_long',
      detail:
        `${longest.inputIds.length} tokens, more than the maximum of ${maxLength}; cut to it, ${kept} of ${trained} trained tokens remain` +
        (kept === 0 ? ' (the run would drop this sample)' : ''),
      tokenCount: longest.inputIds.length
    }
  }
  return null
}

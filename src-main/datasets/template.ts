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
import { renderWithAssistantSpans } from '../engine/tokenizer/assistant-spans'
import { chatTemplateFor, type ChatMessage } from '../engine/tokenizer/chat-template'
import { IGNORE_INDEX, labelCharacterSpans } from '../engine/tokenizer/labels'
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

export interface RenderedSample {
  text: string
  spans: TemplatePreview['spans']
  inputIds: number[]
  labels: number[]
  template: string
}

/** Renders and labels a conversation as the trainer would; throws when the template refuses it. */
export function renderSample(
  tokenizer: TextTokenizer,
  conversation: Conversation,
  side: 'chosen' | 'rejected' = 'chosen'
): RenderedSample {
  const messages = sideMessages(conversation, side) as ChatMessage[]
  const tools = conversation.tools ?? null
  const template = chatTemplateFor(tokenizer, { forTools: tools !== null })
  const { text, spans } = renderWithAssistantSpans(template, messages, {
    tools,
    endOfTurnMarkers: tokenizer.specialTokens
  })
  const weighted = spans.map((span) => ({ ...span, weight: messages[span.messageIndex].loss_weight ?? 1 }))
  const { inputIds, labels } = labelCharacterSpans(tokenizer, text, weighted)
  return { text, spans: weighted, inputIds, labels, template: template.name }
}

export function trainedTokenCount(labels: readonly number[]): number {
  // The trainer never trains the first token (nothing precedes it).
  let trained = 0
  for (let t = 1; t < labels.length; t++) if (labels[t] !== IGNORE_INDEX) trained++
  return trained
}

/** The token count of a conversation's rendering (no labelling: cheaper, for counting many samples). */
export function renderedTokenCount(tokenizer: TextTokenizer, conversation: Conversation): number {
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
  const tokens = rendered.inputIds.length
  if (rendered.text.trim() === '' || tokens === 0) {
    return {
      kind: 'empty',
      detail: 'the chat template renders this sample as empty text',
      tokenCount: tokens
    }
  }
  const trained = trainedTokenCount(rendered.labels)
  if (trained === 0) {
    return {
      kind: 'no_trainable_tokens',
      detail: 'no assistant turn is trained (every assistant turn has loss_weight 0 or renders empty)',
      tokenCount: tokens
    }
  }
  if (tokens > maxLength) {
    const kept = trainedTokenCount(rendered.labels.slice(0, maxLength))
    return {
      kind: 'too_long',
      detail:
        `${tokens} tokens, more than the maximum of ${maxLength}; cut to it, ${kept} of ${trained} trained tokens remain` +
        (kept === 0 ? ' (the run would drop this sample)' : ''),
      tokenCount: tokens
    }
  }
  return null
}

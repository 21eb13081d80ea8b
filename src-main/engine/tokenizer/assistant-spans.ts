/**
 * Where each assistant turn lies in a rendered conversation, as character spans.
 *
 * A span is what the model must generate for that turn: from the end of the generation prompt
 * (what `add_generation_prompt` appends, e.g. "<|start_header_id|>assistant<|end_header_id|>\n\n")
 * to the end of the turn's end-of-turn token (<|eot_id|>, <|im_end|>, </s>), inclusive. The
 * end-of-turn token is trained because the model has to learn to stop; template text after it
 * (Qwen's "\n") is not, since generation ends at the token.
 *
 * Approach: templates transform content (Llama 3 trims it; Qwen3 moves "<think>…</think>" into a
 * reasoning block and drops it from turns before the last user query), so searching for the
 * message content, or wrapping it in sentinels, fails. Instead we render prefixes of the
 * conversation and compare them with the full rendering R:
 *
 *   before = render(messages[0..i))                          must be a prefix of R
 *   prompt = render(messages[0..i), add_generation_prompt)   = before + G (the generation prompt)
 *   start  = |before| + the part of G that R repeats (all of G, or — when the template renders the
 *            prompt differently inside a conversation, as Qwen3 with enable_thinking=false drops
 *            its empty think block from earlier turns — the role header line of it)
 *   after  = render(messages[0..i]), the turn rendered as the last message
 *   marker = the first end-of-turn marker (special token) in after from start: the one closing the turn
 *   end    = just past the first occurrence of that marker in R from start
 *
 * The turn itself may render differently in R than in `after` (Qwen3 keeps the reasoning of the
 * last turn only; the original Llama 3 template appends a generation prompt even when not asked),
 * which is why the end is found by its marker and not by comparing renderings. Only templates
 * without any special-token turn end need `after` to be a prefix of R. Content that literally
 * contains the closing marker ends the span early — its tokens would close the turn anyway.
 */
import type { ChatMessage, ChatRenderOptions, ChatTemplate } from './chat-template'

export interface AssistantSpan {
  messageIndex: number
  /** Character offsets in the rendered text, end exclusive; the end-of-turn marker is inside. */
  start: number
  end: number
}

export interface RenderedConversation {
  text: string
  spans: AssistantSpan[]
}

export interface AssistantSpanOptions extends Omit<ChatRenderOptions, 'addGenerationPrompt'> {
  /** Token strings that can close a turn: the tokenizer's special tokens. */
  endOfTurnMarkers: readonly string[]
  /** Which assistant turns to locate (default: those whose loss_weight is not 0). */
  isTrained?: (message: ChatMessage, index: number) => boolean
}

const defaultIsTrained = (message: ChatMessage): boolean =>
  message.role === 'assistant' && message.loss_weight !== 0

export function renderWithAssistantSpans(
  template: ChatTemplate,
  messages: readonly ChatMessage[],
  options: AssistantSpanOptions
): RenderedConversation {
  const renderOptions = { tools: options.tools, variables: options.variables }
  const render = (count: number, addGenerationPrompt: boolean): string =>
    template.render(messages.slice(0, count), { ...renderOptions, addGenerationPrompt })
  const text = render(messages.length, false)
  const isTrained = options.isTrained ?? defaultIsTrained
  const spans: AssistantSpan[] = []
  messages.forEach((message, index) => {
    if (message.role !== 'assistant' || !isTrained(message, index)) return
    const fail = (problem: string): never => {
      throw new Error(`chat template (${template.name}): assistant message ${index}: ${problem}`)
    }
    if (index === 0) {
      fail('a conversation cannot open with a trained assistant turn: there is no prompt before it')
    }
    const before = render(index, false)
    if (!text.startsWith(before)) {
      fail('the messages before it render differently inside the whole conversation')
    }
    const prompt = render(index, true)
    if (!prompt.startsWith(before)) fail('add_generation_prompt changes the text before the prompt')
    const start = before.length + repeatedPromptLength(prompt.slice(before.length), text, before.length)

    // The turn, rendered as the last message, from where its generated text starts.
    const after = render(index + 1, false)
    const closing = firstMarker(after, start, options.endOfTurnMarkers)
    let end: number
    if (closing) {
      const found = text.indexOf(closing, start)
      if (found < 0) fail(`its end-of-turn token ${closing} does not follow it in the rendered conversation`)
      end = found + closing.length
    } else {
      if (!text.startsWith(after)) {
        fail('it renders differently as the last message, and no end-of-turn token marks where it ends')
      }
      end = after.length
    }
    if (end <= start) fail(`it renders to an empty span (${start}..${end})`)
    spans.push({ messageIndex: index, start, end })
  })
  return { text, spans }
}

/**
 * How much of the generation prompt the full text repeats at `position`: all of it, or, when only
 * part matches (Qwen3 with enable_thinking=false prompts with an empty think block that earlier
 * turns do not carry), the first line of it — the role header — so that a partial match never eats
 * into the assistant's own text.
 */
function repeatedPromptLength(prompt: string, text: string, position: number): number {
  if (text.startsWith(prompt, position)) return prompt.length
  let common = 0
  while (common < prompt.length && prompt[common] === text[position + common]) common++
  const firstLineEnd = prompt.indexOf('\n')
  return firstLineEnd >= 0 && firstLineEnd < common ? firstLineEnd + 1 : common
}

/** The marker that occurs first in `text` at or after `from` (the longest, if several start there). */
function firstMarker(text: string, from: number, markers: readonly string[]): string | null {
  let best: { text: string; index: number } | null = null
  for (const marker of markers) {
    if (marker.length === 0) continue
    const index = text.indexOf(marker, from)
    if (index < 0) continue
    if (!best || index < best.index || (index === best.index && marker.length > best.text.length)) {
      best = { text: marker, index }
    }
  }
  return best ? best.text : null
}

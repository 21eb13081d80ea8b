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
 * message content, or wrapping it in sentinels, fails. Instead each trained turn i is rendered as
 * the model generates it, from prefixes of the conversation:
 *
 *   before = render(messages[0..i)), less any closing text that the prompt replaces (Phi-4 ends a
 *            conversation with eos_token, but not when it prompts for more): the context
 *   prompt = render(messages[0..i), add_generation_prompt)   = before + G (the generation prompt)
 *   asLast = render(messages[0..i]), the turn rendered as the last message
 *   start  = |before| + the part of G that the rendering repeats (all of G, or — when the template
 *            renders the prompt differently inside a conversation, as Qwen3 with enable_thinking=false
 *            drops its empty think block from earlier turns — the role header line of it)
 *   end    = just past the first end-of-turn marker (special token) in asLast from start
 *
 * and asLast[start..end) is what the model generates. The turn trains in place in a rendering R of
 * a longer conversation when R starts with `before` and continues with that generated text after
 * the prompt; otherwise (R rewrites an earlier turn, or this one) it trains in asLast, a sequence
 * of its own (renderTrainingSequences). Only templates without any special-token turn end need
 * asLast to be a prefix of R. Content that literally contains the closing marker ends the span
 * early — its tokens would close the turn anyway.
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

/**
 * The sequences a conversation trains as, each rendered with the trained spans it carries. Usually
 * one: the whole conversation with every trained turn in place. A turn that the whole rendering
 * shows differently from how the model would generate it (the messages before it render
 * differently, or the turn itself does: Qwen3 and gpt-oss drop the reasoning of turns before the
 * last user query) trains in a rendering of its own, the conversation up to and including that
 * turn, where it is the last message, as at inference. Turns are placed from the last to the first,
 * each in the longest rendering that shows it as generated, so one extra rendering serves every
 * earlier turn it can.
 */
export function renderTrainingSequences(
  template: ChatTemplate,
  messages: readonly ChatMessage[],
  options: AssistantSpanOptions
): RenderedConversation[] {
  const renderOptions = { tools: options.tools, variables: options.variables }
  const render = (count: number, addGenerationPrompt: boolean): string =>
    template.render(messages.slice(0, count), { ...renderOptions, addGenerationPrompt })
  const isTrained = options.isTrained ?? defaultIsTrained
  const sequences: { count: number; text: string; spans: AssistantSpan[] }[] = [
    { count: messages.length, text: render(messages.length, false), spans: [] }
  ]
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index]
    if (message.role !== 'assistant' || !isTrained(message, index)) continue
    const fail = (problem: string): never => {
      throw new Error(`chat template (${template.name}): assistant message ${index}: ${problem}`)
    }
    if (index === 0) {
      fail('a conversation cannot open with a trained assistant turn: there is no prompt before it')
    }
    const turn = renderTurn(index, render, options.endOfTurnMarkers)
    let home = sequences.find((sequence) => sequence.count > index && placeIn(turn, sequence.text) !== null)
    if (!home) {
      home = { count: index + 1, text: turn.ownText, spans: [] }
      sequences.push(home)
    }
    const placed = placeIn(turn, home.text)
    if (placed === null) return fail(turn.problem ?? 'it cannot be located even rendered as the last message')
    home.spans.unshift({ messageIndex: index, ...placed })
  }
  // The whole conversation stays first, unless every turn trains elsewhere (Mistral's templates
  // render the system prompt only on a last user message, so no turn trains in the whole).
  const kept = sequences.filter(
    (sequence, i) => sequence.spans.length > 0 || (i === 0 && sequences.length === 1)
  )
  return kept.map(({ text, spans }) => ({ text, spans }))
}

/** One assistant turn as the model generates it. */
interface RenderedTurn {
  /** The conversation before the turn. */
  before: string
  /** What add_generation_prompt appends to `before`. */
  prompt: string
  /** The conversation up to and including the turn, the turn last. */
  asLast: string
  /** The sequence the turn trains in when no longer one shows it as generated. */
  ownText: string
  /** What the model generates for the turn, its end-of-turn marker included; null with `problem`. */
  generated: string | null
  /** Why the turn cannot be located. */
  problem?: string
  /** Whether an end-of-turn token ends it (else only the end of `asLast` does). */
  marked: boolean
}

function renderTurn(
  index: number,
  render: (count: number, addGenerationPrompt: boolean) => string,
  endOfTurnMarkers: readonly string[]
): RenderedTurn {
  const rendered = render(index, false)
  const withPrompt = render(index, true)
  const asLast = render(index + 1, false)
  // Text a template ends a whole conversation with and leaves out when it prompts for more (Phi-4
  // closes with eos_token only without add_generation_prompt) is not part of the context.
  const before = rendered.slice(0, commonPrefixLength(rendered, withPrompt))
  const prompt = withPrompt.slice(before.length)
  const turn = { before, prompt, asLast, ownText: asLast, generated: null, marked: false }
  let start: number
  if (asLast.startsWith(before)) {
    start = before.length + repeatedPromptLength(prompt, asLast, before.length)
  } else {
    // The context renders differently once the turn follows it (Mistral's templates put the
    // system prompt and tools on the last user message only). The turn is then what follows the
    // end of the prompt as it reappears in asLast, and trains after the prompt the model was given.
    const found = promptEndIn(asLast, withPrompt)
    if (found === null)
      return { ...turn, problem: 'the messages before it render differently once it follows them' }
    start = found
  }
  const closing = firstMarker(asLast, start, endOfTurnMarkers)
  const end = closing ? turnEnd(asLast, start, prompt, endOfTurnMarkers) : asLast.length
  if (end <= start) return { ...turn, problem: `it renders to an empty span (${start}..${end})` }
  const generated = asLast.slice(start, end)
  const ownText = asLast.startsWith(before) ? asLast : withPrompt + generated
  return { ...turn, ownText, generated, marked: closing !== null }
}

/**
 * Where the prompt ends in `text` when `text` does not start with it: just after the longest
 * ending of the prompt (the last messages, as the model saw them) that `text` repeats, the first
 * such place; null when not even the prompt's last line is repeated.
 */
function promptEndIn(text: string, prompt: string): number | null {
  let best = { length: 0, end: -1 }
  for (let end = 1; end <= text.length; end++) {
    const length = commonSuffixLength(prompt, text, end)
    if (length > best.length) best = { length, end }
  }
  const lastLine = prompt.slice(prompt.lastIndexOf('\n') + 1)
  return best.length >= Math.min(lastLine.length, prompt.length) && best.length > 0 ? best.end : null
}

/** How many characters `a` ends with that `b` has just before `bEnd`. */
function commonSuffixLength(a: string, b: string, bEnd: number): number {
  let length = 0
  while (length < a.length && length < bEnd && a[a.length - 1 - length] === b[bEnd - 1 - length]) length++
  return length
}

/**
 * Where the turn's generated text lies in `text`, a rendering of a conversation that holds it, or
 * null when `text` does not show it as generated: the conversation before it must render the same
 * and the turn's own text must follow the generation prompt (or the part of it the rendering
 * repeats, see repeatedPromptLength).
 */
function placeIn(turn: RenderedTurn, text: string): { start: number; end: number } | null {
  if (turn.generated === null || !text.startsWith(turn.before)) return null
  const start = turn.before.length + repeatedPromptLength(turn.prompt, text, turn.before.length)
  if (!text.startsWith(turn.generated, start)) return null
  // Without an end-of-turn token only the rendering that ends with the turn shows where it ends.
  if (!turn.marked && !text.startsWith(turn.ownText)) return null
  return { start, end: start + turn.generated.length }
}

/**
 * The one rendering of a conversation whose trained turns all train in place (see
 * renderTrainingSequences); throws when a turn needs a sequence of its own, for callers that
 * score a conversation as one sequence.
 */
export function renderWithAssistantSpans(
  template: ChatTemplate,
  messages: readonly ChatMessage[],
  options: AssistantSpanOptions
): RenderedConversation {
  const sequences = renderTrainingSequences(template, messages, options)
  if (sequences.length > 1) {
    const moved = sequences.slice(1).flatMap((sequence) => sequence.spans.map((span) => span.messageIndex))
    throw new Error(
      `chat template (${template.name}): assistant message ${moved.join(', ')}: the whole conversation renders ` +
        'it differently from how the model generates it; it trains as a sequence of its own'
    )
  }
  return sequences[0]
}

/**
 * Where a turn that starts at `start` of `asLast` (where it is the last message) ends: just past
 * its end-of-turn marker, or, when the generation prompt follows that marker and another marked
 * segment follows it, past that one — gpt-oss renders one assistant message as an analysis
 * message and a final one (`…<|end|><|start|>assistant<|channel|>final…<|return|>`), all of which
 * the model generates. A prompt with nothing marked after it (the first Llama 3 template appends
 * one to every conversation) is not part of the turn.
 */
function turnEnd(asLast: string, start: number, prompt: string, markers: readonly string[]): number {
  let end = start
  for (;;) {
    const closing = firstMarker(asLast, end, markers)
    if (!closing) return end
    end = asLast.indexOf(closing, end) + closing.length
    if (prompt === '' || !asLast.startsWith(prompt, end)) return end
    if (!firstMarker(asLast, end + prompt.length, markers)) return end
  }
}

function commonPrefixLength(a: string, b: string): number {
  let length = 0
  while (length < a.length && length < b.length && a[length] === b[length]) length++
  return length
}

/**
 * How much of the generation prompt the full text repeats at `position`: all of it, or, when only
 * part matches (Qwen3 with enable_thinking=false prompts with an empty think block that earlier
 * turns do not carry), the first line of it — the role header — so that a partial match never eats
 * into the assistant's own text.
 */
function repeatedPromptLength(prompt: string, text: string, position: number): number {
  if (text.startsWith(prompt, position)) return prompt.length
  const common = commonPrefixLength(prompt, text.slice(position, position + prompt.length))
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

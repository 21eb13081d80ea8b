/**
 * What a chat template leaves out of a conversation. Templates render only what they know: the
 * original Llama 3 template renders a turn's content and nothing else, so an assistant turn that
 * calls a tool trains as a bare end-of-turn token and its reasoning vanishes, with no error. Each
 * message's content, tool calls and (for trained turns) reasoning must appear in the text the
 * model trains on: a trained turn's in its own trained span, any other message before the last
 * trained turn in one of the sequences the conversation trains as. Reasoning of untrained turns is not checked: Qwen3 and gpt-oss drop earlier turns'
 * reasoning by design, exactly as the model sees its history at inference.
 *
 * Templates re-space what they render (trim content, put reasoning on lines of its own, print
 * tool-call arguments as JSON with their own separators), so the comparison ignores whitespace,
 * and an argument's value may appear as written or JSON-escaped.
 */
import type { RenderedConversation } from './assistant-spans'
import type { ChatMessage } from './chat-template'

export interface TemplateDrop {
  messageIndex: number
  part: 'content' | 'reasoning' | 'tool call'
  /** What is missing, for a person: `message 2 (assistant): its tool call "get_weather"`. */
  detail: string
}

function squeezed(text: string): string {
  return text.replace(/\s+/g, '')
}

/**
 * The texts a value may be rendered as: strings as written or JSON-escaped (Llama 3.1 prints a tool
 * result through tojson), other scalars as JavaScript or Python print them.
 */
function renderedForms(value: unknown): string[] {
  if (typeof value === 'string') return [value, JSON.stringify(value).slice(1, -1)]
  if (typeof value === 'number') return [String(value)]
  if (typeof value === 'boolean' || value === null) {
    const word = String(value)
    // Python prints True/False/None where a template renders the value without tojson.
    return [word, { true: 'True', false: 'False', null: 'None' }[word] ?? word]
  }
  return []
}

/** Whether one of the forms appears in the (squeezed) region; text that is only whitespace always does. */
function shownIn(region: string, forms: readonly string[]): boolean {
  return forms.some((form) => {
    const needle = squeezed(form)
    return needle === '' || region.includes(needle)
  })
}

/** Every key and leaf value of a tool call's arguments, each with the forms it may be rendered in. */
function argumentPieces(args: unknown): string[][] {
  if (typeof args === 'string') {
    try {
      return argumentPieces(JSON.parse(args))
    } catch {
      return [[args]]
    }
  }
  if (Array.isArray(args)) return args.flatMap(argumentPieces)
  if (typeof args === 'object' && args !== null) {
    return Object.entries(args).flatMap(([key, value]) => [renderedForms(key), ...argumentPieces(value)])
  }
  const forms = renderedForms(args)
  return forms.length > 0 ? [forms] : []
}

interface ToolCallLike {
  function?: { name?: unknown; arguments?: unknown }
  name?: unknown
  arguments?: unknown
}

function missingToolCalls(calls: readonly unknown[], region: string): string[] {
  const missing: string[] = []
  calls.forEach((raw, i) => {
    const call = (raw ?? {}) as ToolCallLike
    const fn = call.function ?? call
    const name = typeof fn.name === 'string' ? fn.name : ''
    const pieces = [[name], ...argumentPieces(fn.arguments)]
    const which = calls.length > 1 ? `${i + 1} of ${calls.length} ` : ''
    if (!pieces.every((forms) => shownIn(region, forms))) missing.push(`${which}"${name}"`)
  })
  return missing
}

/**
 * What the template leaves out of `messages`, given the sequences they train as (see
 * renderTrainingSequences; the first is the whole conversation).
 */
export function templateDrops(
  messages: readonly ChatMessage[],
  sequences: readonly RenderedConversation[]
): TemplateDrop[] {
  // A message that is context rather than trained must show in some sequence it is context of.
  const anywhere = sequences.map((sequence) => squeezed(sequence.text)).join('\u0000')
  const trainedRegion = new Map<number, string>()
  for (const sequence of sequences) {
    for (const span of sequence.spans) {
      trainedRegion.set(span.messageIndex, squeezed(sequence.text.slice(span.start, span.end)))
    }
  }
  // Messages after the last trained turn are context of nothing: what a template does with them
  // changes no trained token.
  const lastTrained = Math.max(-1, ...trainedRegion.keys())
  const drops: TemplateDrop[] = []
  messages.forEach((message, index) => {
    if (index > lastTrained) return
    const region = trainedRegion.get(index)
    const where = region ?? anywhere
    const drop = (part: TemplateDrop['part'], what: string) =>
      drops.push({ messageIndex: index, part, detail: `message ${index} (${message.role}): ${what}` })
    // An untrained turn's inline <think> block is reasoning, which history may drop (see above).
    const content =
      region === undefined ? message.content.replace(/<think>[\s\S]*?<\/think>/, '') : message.content
    if (!shownIn(where, renderedForms(content))) drop('content', 'its content')
    const reasoning = typeof message.reasoning_content === 'string' ? squeezed(message.reasoning_content) : ''
    if (region !== undefined && reasoning !== '' && !region.includes(reasoning)) {
      drop('reasoning', 'its reasoning')
    }
    if (Array.isArray(message.tool_calls)) {
      for (const name of missingToolCalls(message.tool_calls, where))
        drop('tool call', `its tool call ${name}`)
    }
  })
  return drops
}

/** The drops as one line for a report: "the chat template leaves out message 2 (assistant): …; …". */
export function describeTemplateDrops(drops: readonly TemplateDrop[]): string {
  return `the chat template leaves out ${drops.map((drop) => drop.detail).join('; ')}`
}

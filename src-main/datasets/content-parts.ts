/**
 * A message's content given as a list of parts, as OpenAI ({type: 'text', text}) and LLaMA-Factory
 * v1 ({type, value}: its src/llamafactory/v1/utils/types.py) write it, sorted into what a
 * ConversationMessage holds, and the way back for export:
 *
 *   text                  joined into the content, as LLaMA-Factory's renderer joins them
 *   reasoning             joined into the turn's reasoning_content
 *   tool_call             {"name", "arguments"} as JSON text (or an object): the turn's tool_calls
 *   tool_response         a tool's answer: a tool turn of its own (normalise-message.ts says where)
 *   image, video, audio   (and their *_url forms) kept whole in the message's metadata under
 *                         MEDIA_PARTS_KEY, each with the offset in the content where it stood, so
 *                         that export puts it back in place; the model is text-only and never sees it
 *
 * Any other part type is a bad row naming the type: nothing is dropped.
 */
import type { Conversation, ConversationMessage } from '../../src-preload/contract'
import { describeValue, fail, isRecord } from './raw-values'

/** The message metadata key holding its media parts (see MediaPart). */
export const MEDIA_PARTS_KEY = 'media_parts'

/** A media part as the source wrote it, and where in the content (UTF-16 offset) it stood. */
export interface MediaPart {
  at: number
  part: Record<string, unknown>
}

const MEDIA_TYPES: ReadonlySet<string> = new Set([
  'image',
  'image_url',
  'video',
  'video_url',
  'audio',
  'audio_url'
])

export interface SortedParts {
  text: string
  /** Joined reasoning parts; undefined when there were none. */
  reasoning: string | undefined
  /** tool_call values as the source has them (normalise-message.ts reads each as a tool call). */
  toolCalls: unknown[]
  toolResponses: string[]
  media: MediaPart[]
}

function partText(part: Record<string, unknown>, keys: readonly string[], where: string): string {
  const key = keys.find((k) => part[k] !== undefined)
  const value = key === undefined ? undefined : part[key]
  if (typeof value !== 'string') return fail(`${where} has no text, got ${describeValue(value)}`)
  return value
}

/** A content field sorted by part type; a string (or a scalar) is all text. */
export function sortContentParts(value: unknown, where: string): SortedParts {
  const sorted: SortedParts = { text: '', reasoning: undefined, toolCalls: [], toolResponses: [], media: [] }
  if (typeof value === 'string') sorted.text = value
  else if (typeof value === 'number' || typeof value === 'boolean') sorted.text = String(value)
  else if (Array.isArray(value)) value.forEach((part, i) => sortPart(sorted, part, `${where}[${i}]`))
  else if (value !== null && value !== undefined)
    fail(`${where} must be a string or a list of parts, got ${describeValue(value)}`)
  return sorted
}

function sortPart(sorted: SortedParts, part: unknown, where: string): void {
  if (typeof part === 'string') {
    sorted.text += part
    return
  }
  if (!isRecord(part)) return fail(`${where} must be a content part, got ${describeValue(part)}`)
  const type = part.type === undefined ? 'text' : part.type
  if (typeof type !== 'string') return fail(`${where}.type must be a string, got ${describeValue(type)}`)
  if (type === 'text') sorted.text += partText(part, ['text', 'value', 'content'], where)
  else if (type === 'reasoning') {
    sorted.reasoning = (sorted.reasoning ?? '') + partText(part, ['value', 'text', 'reasoning'], where)
  } else if (type === 'tool_call') {
    if (part.value === undefined) return fail(`${where} is a tool_call part without a value`)
    sorted.toolCalls.push(part.value)
  } else if (type === 'tool_response') sorted.toolResponses.push(partText(part, ['value', 'text'], where))
  else if (MEDIA_TYPES.has(type)) sorted.media.push({ at: sorted.text.length, part })
  else fail(`${where} is a part of the unknown type ${JSON.stringify(type)}`)
}

/** Text from a field that may only hold text parts (a message's reasoning key). */
export function textPartsOnly(value: unknown, where: string): string {
  const sorted = sortContentParts(value, where)
  if (
    sorted.reasoning !== undefined ||
    sorted.toolCalls.length > 0 ||
    sorted.toolResponses.length > 0 ||
    sorted.media.length > 0
  ) {
    return fail(`${where} may hold only text parts`)
  }
  return sorted.text
}

function isMediaPart(value: unknown): value is MediaPart {
  return (
    isRecord(value) &&
    typeof value.at === 'number' &&
    Number.isInteger(value.at) &&
    value.at >= 0 &&
    isRecord(value.part) &&
    typeof value.part.type === 'string' &&
    MEDIA_TYPES.has(value.part.type)
  )
}

/** The message's media parts, when its metadata holds them as the importer wrote them. */
export function mediaParts(message: ConversationMessage): MediaPart[] | null {
  const value = message.metadata?.[MEDIA_PARTS_KEY]
  return Array.isArray(value) && value.length > 0 && value.every(isMediaPart) ? value : null
}

/**
 * The content as a list of parts with the media back where they stood: text parts cut at each media
 * part's offset (clamped to the content, which an edit may have shortened), empty ones left out. Text
 * parts are written as the media parts are ({type, value} for LLaMA-Factory v1, else {type, text}).
 */
export function contentWithMedia(content: string, media: readonly MediaPart[]): Record<string, unknown>[] {
  const textKey = media.some(({ part }) => part.value !== undefined) ? 'value' : 'text'
  const parts: Record<string, unknown>[] = []
  let from = 0
  const addText = (to: number) => {
    if (to === from) return
    parts.push({ type: 'text', [textKey]: content.slice(from, to) })
    from = to
  }
  for (const { at, part } of [...media].sort((a, b) => a.at - b.at)) {
    addText(Math.min(at, content.length))
    parts.push(part)
  }
  addText(content.length)
  return parts
}

/** How many of the sample's messages (both completions of a pair) hold media parts. */
export function mediaMessageCount(conversation: Conversation): number {
  const messages = [...conversation.messages, ...(conversation.rejected ?? [])]
  return messages.filter((message) => mediaParts(message) !== null).length
}

/** The import warning about media parts, when the file had any. */
export function mediaWarning(fileName: string, messages: number): string | null {
  if (messages === 0) return null
  return (
    `${fileName}: ${messages} message${messages === 1 ? ' holds' : 's hold'} image/video/audio parts, ` +
    'kept as metadata; the model is text-only and does not see them'
  )
}

/**
 * One source message normalised to ConversationMessages, whatever its source format: {role,
 * content} or {from, value}, content as a string or a list of parts (content-parts.ts: text,
 * reasoning, tool calls, tool responses, media), tool calls in OpenAI's or ShareGPT's form,
 * reasoning under any of its usual keys. Keys the importer does not read stay with the message as
 * its metadata (see Conversation in the contract).
 *
 * A message is one turn, except that each of its tool_response parts (a tool's answer written
 * inside another message) becomes a tool turn of its own right after it, with the message's
 * loss_weight; a message that holds nothing else (no text, reasoning, calls, media or other keys)
 * is replaced by those tool turns. Nothing is lost; only the parts' order within the message is
 * (its other parts first, then the responses).
 */
import type { ConversationMessage, ConversationRole, ToolCall } from '../../src-preload/contract'
import { MEDIA_PARTS_KEY, sortContentParts, textPartsOnly, type SortedParts } from './content-parts'
import { describeValue, fail, isRecord, jsonValue, unconsumedEntries } from './raw-values'

/** Source role names → ours. function_call is handled apart: it becomes an assistant tool call. */
const ROLE_ALIASES: Record<string, ConversationRole> = {
  system: 'system',
  developer: 'system',
  user: 'user',
  human: 'user',
  assistant: 'assistant',
  gpt: 'assistant',
  model: 'assistant',
  bot: 'assistant',
  tool: 'tool',
  observation: 'tool',
  function: 'tool',
  ipython: 'tool'
}

function lossWeight(value: unknown, where: string): number | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    return fail(`${where}.loss_weight must be a finite number ≥ 0, got ${describeValue(value)}`)
  }
  return value
}

function toolCall(value: unknown, where: string): ToolCall {
  const call = jsonValue(value)
  if (!isRecord(call)) return fail(`${where} must be a tool call object, got ${describeValue(call)}`)
  // OpenAI nests name and arguments under "function"; ShareGPT function_call values do not.
  const fn = isRecord(call.function) ? call.function : call
  if (typeof fn.name !== 'string' || fn.name === '') return fail(`${where} has no function name`)
  const args = fn.arguments ?? fn.parameters ?? {}
  if (typeof args !== 'string' && !isRecord(args)) {
    return fail(`${where}.arguments must be a JSON string or an object, got ${describeValue(args)}`)
  }
  const result: ToolCall = { type: 'function', function: { name: fn.name, arguments: args } }
  if (typeof call.id === 'string') result.id = call.id
  return result
}

function toolCalls(value: unknown, where: string): ToolCall[] {
  const calls = jsonValue(value)
  const list = Array.isArray(calls) ? calls : [calls]
  return list.map((call, i) => toolCall(call, `${where}[${i}]`))
}

/**
 * Where reasoning may be, as a message's key or a row's column, in order of preference:
 * `reasoning_content` (OpenAI-compatible servers, DeepSeek, Qwen), `reasoning` and `thinking`
 * (other distillation datasets).
 */
export const REASONING_KEYS = ['reasoning_content', 'reasoning', 'thinking'] as const

/** Message keys with a meaning to the importer: null or "" in one of them says "absent", not metadata. */
const MESSAGE_KEYS: ReadonlySet<string> = new Set([
  'role',
  'from',
  'content',
  'value',
  'loss_weight',
  'tool_calls',
  'tool_call_id',
  'name',
  ...REASONING_KEYS
])

/** Reasoning is text (or text parts); a key holding anything else is not reasoning and stays metadata. */
function isReasoningText(value: unknown): boolean {
  return (typeof value === 'string' && value !== '') || Array.isArray(value)
}

function isFunctionCallTurn(value: Record<string, unknown>): boolean {
  const role = value.role ?? value.from
  return typeof role === 'string' && role.trim().toLowerCase() === 'function_call'
}

/**
 * The keys of a source message that the importer consumes: those it reads, and null or "" in a key
 * with a meaning to it (which says "absent"). Every other key is kept as the message's metadata.
 * The export asks the same question to know which metadata it can write back beside the fields.
 */
export function messageKeysConsumed(value: Record<string, unknown>): Set<string> {
  const consumed = messageKeysRead(value)
  for (const key of MESSAGE_KEYS) if (value[key] === null || value[key] === '') consumed.add(key)
  return consumed
}

/** The keys of a source message whose values become fields of the message. */
function messageKeysRead(value: Record<string, unknown>): Set<string> {
  const read = new Set<string>(['loss_weight'])
  read.add(value.role !== undefined && value.role !== null ? 'role' : 'from')
  read.add(value.content !== undefined ? 'content' : 'value')
  const reasoningKey = REASONING_KEYS.find((key) => isReasoningText(value[key]))
  if (reasoningKey) read.add(reasoningKey)
  if (isFunctionCallTurn(value)) return read
  read.add('tool_calls')
  const role = value.role ?? value.from
  if (typeof role === 'string' && ROLE_ALIASES[role.trim().toLowerCase()] === 'tool') {
    if (typeof value.tool_call_id === 'string') read.add('tool_call_id')
    if (typeof value.name === 'string') read.add('name')
  }
  return read
}

/** Empty reasoning is no reasoning: it is left out, as the editor leaves out an empty field. */
function reasoningText(value: Record<string, unknown>, where: string): string | undefined {
  const key = REASONING_KEYS.find((k) => isReasoningText(value[k]))
  if (key === undefined) return undefined
  const text = textPartsOnly(value[key], `${where}.${key}`)
  return text === '' ? undefined : text
}

/**
 * The reasoning of a message: from its reasoning key or from reasoning parts of its content. Both
 * at once is a bad row: which one the turn means cannot be told.
 */
function messageReasoning(
  value: Record<string, unknown>,
  parts: SortedParts,
  where: string
): string | undefined {
  const fromKey = reasoningText(value, where)
  if (fromKey !== undefined && parts.reasoning !== undefined) {
    return fail(`${where} has reasoning both in a reasoning key and in reasoning parts of its content`)
  }
  const reasoning = fromKey ?? parts.reasoning
  return reasoning === '' ? undefined : reasoning
}

/** The message's tool calls: its tool_calls key, then tool_call parts of its content. */
function messageToolCalls(
  value: Record<string, unknown>,
  read: ReadonlySet<string>,
  parts: SortedParts,
  where: string
): ToolCall[] {
  const calls: ToolCall[] = []
  if (read.has('tool_calls') && value.tool_calls !== undefined && value.tool_calls !== null) {
    calls.push(...toolCalls(value.tool_calls, `${where}.tool_calls`))
  }
  parts.toolCalls.forEach((call, i) => calls.push(toolCall(call, `${where}.content tool_call part ${i + 1}`)))
  return calls
}

/** One source message, normalised: the turn, then a tool turn per tool_response part (see above). */
export function normaliseMessageTurns(value: unknown, where: string): ConversationMessage[] {
  if (!isRecord(value)) return fail(`${where} must be an object, got ${describeValue(value)}`)
  const read = messageKeysRead(value)
  const rawRole = read.has('role') ? value.role : value.from
  if (typeof rawRole !== 'string')
    return fail(`${where} has no "role" (or "from"), got ${describeValue(rawRole)}`)
  const roleName = rawRole.trim().toLowerCase()
  const rawContent = read.has('content') ? value.content : value.value
  const weight = lossWeight(value.loss_weight, where)
  if (roleName === 'function_call') {
    const call: ConversationMessage = {
      role: 'assistant',
      content: '',
      tool_calls: toolCalls(rawContent, `${where}.value`)
    }
    return [withMessageExtras(call, value, read, weight, undefined, where)]
  }
  const parts = sortContentParts(rawContent, `${where}.content`)
  const message: ConversationMessage = { role: knownRole(rawRole, where), content: parts.text }
  const calls = messageToolCalls(value, read, parts, where)
  if (calls.length > 0) {
    if (message.role !== 'assistant')
      return fail(`${where} is a ${message.role} turn with tool_calls; only assistant turns call tools`)
    message.tool_calls = calls
  }
  const turn = withMessageExtras(message, value, read, weight, parts, where)
  const responses = parts.toolResponses.map((content): ConversationMessage => ({
    role: 'tool',
    content,
    ...(weight !== undefined ? { loss_weight: weight } : {})
  }))
  const bareKeys = new Set(['role', 'content', 'loss_weight'])
  const holdsNothingElse = turn.content === '' && Object.keys(turn).every((key) => bareKeys.has(key))
  return responses.length > 0 && holdsNothingElse ? responses : [turn, ...responses]
}

/** A turn with the message's loss weight, tool call id and name, reasoning and metadata (media parts included). */
function withMessageExtras(
  message: ConversationMessage,
  value: Record<string, unknown>,
  read: ReadonlySet<string>,
  weight: number | undefined,
  parts: SortedParts | undefined,
  where: string
): ConversationMessage {
  if (weight !== undefined) message.loss_weight = weight
  if (read.has('tool_call_id')) message.tool_call_id = value.tool_call_id as string
  if (read.has('name')) message.name = value.name as string
  const reasoning = parts ? messageReasoning(value, parts, where) : reasoningText(value, where)
  if (reasoning !== undefined) message.reasoning_content = reasoning
  const metadata = unconsumedEntries(value, messageKeysConsumed(value)) ?? {}
  if (parts && parts.media.length > 0) {
    if (Object.hasOwn(metadata, MEDIA_PARTS_KEY))
      return fail(`${where} has a "${MEDIA_PARTS_KEY}" key and media parts in its content`)
    metadata[MEDIA_PARTS_KEY] = parts.media
  }
  if (Object.keys(metadata).length > 0) message.metadata = metadata
  return message
}

function knownRole(rawRole: string, where: string): ConversationRole {
  return (
    ROLE_ALIASES[rawRole.trim().toLowerCase()] ??
    fail(`${where} has the unknown role ${JSON.stringify(rawRole)}`)
  )
}

/**
 * A ShareGPT function_call turn right after an assistant turn without calls is that turn's tool
 * call: they become one assistant message with content and tool_calls, as OpenAI writes it (and as
 * the ShareGPT export splits it again).
 */
function joinsPrevious(
  raw: unknown,
  message: ConversationMessage,
  previous: ConversationMessage | undefined
): boolean {
  return (
    isRecord(raw) &&
    typeof raw.from === 'string' &&
    raw.from.trim().toLowerCase() === 'function_call' &&
    message.reasoning_content === undefined &&
    message.metadata === undefined &&
    previous !== undefined &&
    previous.role === 'assistant' &&
    previous.tool_calls === undefined &&
    previous.content !== '' &&
    previous.loss_weight === message.loss_weight
  )
}

export function normaliseMessages(value: unknown, where: string): ConversationMessage[] {
  const list = jsonValue(value)
  if (!Array.isArray(list)) return fail(`${where} must be a list of messages, got ${describeValue(list)}`)
  if (list.length === 0) return fail(`${where} is empty`)
  const messages: ConversationMessage[] = []
  list.forEach((raw, i) => {
    const turns = normaliseMessageTurns(raw, `${where}[${i}]`)
    const previous = messages[messages.length - 1]
    if (turns.length === 1 && joinsPrevious(raw, turns[0], previous))
      previous.tool_calls = turns[0].tool_calls
    else messages.push(...turns)
  })
  return messages
}

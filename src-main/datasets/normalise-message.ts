/**
 * One source message normalised to a ConversationMessage, whatever its source format: {role,
 * content} or {from, value}, content as a string or a list of text parts, tool calls in OpenAI's
 * or ShareGPT's form, reasoning under any of its usual keys. Keys the importer does not read stay
 * with the message as its metadata (see Conversation in the contract).
 */
import type { ConversationMessage, ConversationRole, ToolCall } from '../../src-preload/contract'
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

/** Text from a content field: a string, or a list of parts whose text parts are joined. */
function contentText(value: unknown, where: string): string {
  if (typeof value === 'string') return value
  if (value === null || value === undefined) return ''
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (Array.isArray(value)) {
    return value
      .map((part, i) => {
        if (typeof part === 'string') return part
        if (!isRecord(part)) return fail(`${where}[${i}] must be a text part, got ${describeValue(part)}`)
        if (part.type !== undefined && part.type !== 'text') {
          return fail(`${where}[${i}] is a "${String(part.type)}" part; only text parts can be imported`)
        }
        const text = part.text ?? part.value ?? part.content
        if (typeof text !== 'string') return fail(`${where}[${i}] has no text`)
        return text
      })
      .join('')
  }
  return fail(`${where} must be a string, got ${describeValue(value)}`)
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
  const text = contentText(value[key], `${where}.${key}`)
  return text === '' ? undefined : text
}

/** One source message, normalised. */
export function normaliseMessage(value: unknown, where: string): ConversationMessage {
  if (!isRecord(value)) return fail(`${where} must be an object, got ${describeValue(value)}`)
  const read = messageKeysRead(value)
  const rawRole = read.has('role') ? value.role : value.from
  if (typeof rawRole !== 'string')
    return fail(`${where} has no "role" (or "from"), got ${describeValue(rawRole)}`)
  const roleName = rawRole.trim().toLowerCase()
  const rawContent = read.has('content') ? value.content : value.value
  const message: ConversationMessage =
    roleName === 'function_call'
      ? { role: 'assistant', content: '', tool_calls: toolCalls(rawContent, `${where}.value`) }
      : { role: knownRole(rawRole, where), content: contentText(rawContent, `${where}.content`) }
  const weight = lossWeight(value.loss_weight, where)
  if (weight !== undefined) message.loss_weight = weight
  if (read.has('tool_calls') && value.tool_calls !== undefined && value.tool_calls !== null) {
    if (message.role !== 'assistant')
      return fail(`${where} is a ${message.role} turn with tool_calls; only assistant turns call tools`)
    const calls = toolCalls(value.tool_calls, `${where}.tool_calls`)
    if (calls.length > 0) message.tool_calls = calls
  }
  if (read.has('tool_call_id')) message.tool_call_id = value.tool_call_id as string
  if (read.has('name')) message.name = value.name as string
  const reasoning = reasoningText(value, where)
  if (reasoning !== undefined) message.reasoning_content = reasoning
  const metadata = unconsumedEntries(value, messageKeysConsumed(value))
  if (metadata) message.metadata = metadata
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
    const message = normaliseMessage(raw, `${where}[${i}]`)
    const previous = messages[messages.length - 1]
    if (joinsPrevious(raw, message, previous)) previous.tool_calls = message.tool_calls
    else messages.push(message)
  })
  return messages
}

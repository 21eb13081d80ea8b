/**
 * Every import format, normalised to the one conversation schema (see Conversation in
 * src-preload/contract.ts), and the detection of a file's format from its columns.
 *
 *   messages           {"messages": [{role, content, loss_weight?, tool_calls?, tool_call_id?,
 *                      reasoning_content?}], "tools"?}
 *   sharegpt           {"conversations": [{from, value}], "tools"?, "system"?}; from is human, gpt,
 *                      system, tool / observation (a tool's answer) or function_call (an assistant
 *                      turn calling a tool: value is {"name", "arguments"} as JSON; it stays a turn
 *                      of its own, with empty content, so turns map one-to-one both ways)
 *   alpaca             {"instruction", "input"?, "output", "history"?: [[user, assistant], …], "system"?,
 *                      "reasoning_content"?}; the user turn is the instruction, then a blank line and the input when
 *                      there is one (as the trainer renders Alpaca rows)
 *   prompt-completion  {"prompt", "completion", "system"?, "reasoning"?}: strings, or message lists
 *   preference         {"chosen", "rejected", "prompt"?}: with a prompt, chosen and rejected are the
 *                      completions (a string, one message or a message list); without one, they are
 *                      whole conversations that share their prompt
 *
 * Message objects are read as {role, content} or {from, value} in every format, and content given
 * as a list of parts keeps its text parts. A message's reasoning is read from reasoning_content,
 * reasoning or thinking (the first holding text) into reasoning_content; Alpaca and
 * prompt/completion rows may name a `reasoning` column for the answer's reasoning.
 *
 * Nothing the source holds is dropped: columns the mapping does not name become the sample's
 * `metadata`, keys of a message object the importer does not read the message's `metadata` (see
 * Conversation in the contract); export writes both back where they came from. Only null or "" in
 * a key that means something to us (a message's `name: null`) is dropped, as the absence it says.
 *
 * A row that cannot be normalised throws RowError with the reason; the importer reports it with
 * the file and line.
 */
import type {
  Conversation,
  ConversationMessage,
  ConversationRole,
  ImportColumnField,
  ImportFormat,
  ImportMapping,
  ToolCall
} from '../../src-preload/contract'
import type { RawRow } from './sources'

export class RowError extends Error {
  override name = 'RowError'
}

function fail(reason: string): never {
  throw new RowError(reason)
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'nothing'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return value.length > 40 ? 'a string' : JSON.stringify(value)
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${String(value)}`
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

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

/** CSV cells and Parquet strings may hold JSON: lists and objects are parsed where one is expected. */
function jsonValue(value: unknown): unknown {
  if (typeof value !== 'string') return value
  const text = value.trim()
  if (!(text.startsWith('[') || text.startsWith('{'))) return value
  try {
    return JSON.parse(text)
  } catch {
    return value
  }
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
        if (!isRecord(part)) return fail(`${where}[${i}] must be a text part, got ${describe(part)}`)
        if (part.type !== undefined && part.type !== 'text') {
          return fail(`${where}[${i}] is a "${String(part.type)}" part; only text parts can be imported`)
        }
        const text = part.text ?? part.value ?? part.content
        if (typeof text !== 'string') return fail(`${where}[${i}] has no text`)
        return text
      })
      .join('')
  }
  return fail(`${where} must be a string, got ${describe(value)}`)
}

function lossWeight(value: unknown, where: string): number | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    return fail(`${where}.loss_weight must be a finite number ≥ 0, got ${describe(value)}`)
  }
  return value
}

function toolCall(value: unknown, where: string): ToolCall {
  const call = jsonValue(value)
  if (!isRecord(call)) return fail(`${where} must be a tool call object, got ${describe(call)}`)
  // OpenAI nests name and arguments under "function"; ShareGPT function_call values do not.
  const fn = isRecord(call.function) ? call.function : call
  if (typeof fn.name !== 'string' || fn.name === '') return fail(`${where} has no function name`)
  const args = fn.arguments ?? fn.parameters ?? {}
  if (typeof args !== 'string' && !isRecord(args)) {
    return fail(`${where}.arguments must be a JSON string or an object, got ${describe(args)}`)
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
 * Where a message's reasoning may be, in order of preference: `reasoning_content` (OpenAI-compatible
 * servers, DeepSeek, Qwen), `reasoning` and `thinking` (other distillation datasets).
 */
const REASONING_KEYS = ['reasoning_content', 'reasoning', 'thinking'] as const

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

/** What of a source object is not consumed: kept as metadata, or undefined when nothing is left. */
function unconsumedEntries(
  value: Record<string, unknown>,
  consumed: ReadonlySet<string>
): Record<string, unknown> | undefined {
  const kept = Object.entries(value).filter(([key, v]) => !consumed.has(key) && v !== undefined)
  return kept.length > 0 ? Object.fromEntries(kept) : undefined
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
  if (!isRecord(value)) return fail(`${where} must be an object, got ${describe(value)}`)
  const read = messageKeysRead(value)
  const rawRole = read.has('role') ? value.role : value.from
  if (typeof rawRole !== 'string') return fail(`${where} has no "role" (or "from"), got ${describe(rawRole)}`)
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
  if (!Array.isArray(list)) return fail(`${where} must be a list of messages, got ${describe(list)}`)
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

function required(row: RawRow, mapping: ImportMapping, field: ImportColumnField): unknown {
  const name = mapping.columns[field]
  if (name === undefined) return fail(`the mapping names no column for "${field}"`)
  const value = row[name]
  if (value === undefined || value === null) return fail(`column "${name}" is missing`)
  return value
}

function optional(row: RawRow, mapping: ImportMapping, field: ImportColumnField): unknown {
  const name = mapping.columns[field]
  if (name === undefined) return undefined
  const value = row[name]
  return value === null || value === '' ? undefined : value
}

function text(value: unknown, where: string): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return fail(`${where} must be text, got ${describe(value)}`)
}

function tools(row: RawRow, mapping: ImportMapping): unknown[] | undefined {
  const value = optional(row, mapping, 'tools')
  if (value === undefined) return undefined
  const list = jsonValue(value)
  if (!Array.isArray(list))
    return fail(`"${mapping.columns.tools}" must be a list of tools, got ${describe(list)}`)
  return list.length > 0 ? list : undefined
}

/** A system prompt from its own column goes first, unless the conversation has one already. */
function withSystem(
  row: RawRow,
  mapping: ImportMapping,
  messages: ConversationMessage[]
): ConversationMessage[] {
  const system = optional(row, mapping, 'system')
  if (system === undefined) return messages
  const content = text(system, `"${mapping.columns.system}"`)
  if (messages[0]?.role === 'system') return messages
  return [{ role: 'system', content }, ...messages]
}

/**
 * The `reasoning` column is the reasoning of the answer: it becomes the last assistant turn's
 * reasoning_content (Alpaca and prompt/completion rows have no message objects to carry it).
 */
function withReasoning(
  row: RawRow,
  mapping: ImportMapping,
  messages: ConversationMessage[]
): ConversationMessage[] {
  const value = optional(row, mapping, 'reasoning')
  if (value === undefined) return messages
  const name = `"${mapping.columns.reasoning}"`
  const reasoning = text(value, name)
  if (reasoning === '') return messages
  const answer = messages.findLastIndex((m) => m.role === 'assistant')
  if (answer < 0) return fail(`${name} holds reasoning, but there is no assistant turn to give it to`)
  if (messages[answer].reasoning_content !== undefined) {
    return fail(`${name} holds reasoning, but the last assistant turn has its own already`)
  }
  return messages.map((m, i) => (i === answer ? { ...m, reasoning_content: reasoning } : m))
}

/** The user turn of an Alpaca row (the trainer's alpacaPrompt does the same). */
export function alpacaUserText(instruction: string, input: string): string {
  return input === '' ? instruction : `${instruction}\n\n${input}`
}

function alpacaHistory(value: unknown, where: string): ConversationMessage[] {
  const list = jsonValue(value)
  if (!Array.isArray(list))
    return fail(`${where} must be a list of [user, assistant] pairs, got ${describe(list)}`)
  return list.flatMap((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) {
      return fail(`${where}[${i}] must be a [user, assistant] pair, got ${describe(pair)}`)
    }
    return [
      { role: 'user' as const, content: text(pair[0], `${where}[${i}][0]`) },
      { role: 'assistant' as const, content: text(pair[1], `${where}[${i}][1]`) }
    ]
  })
}

/** A completion: a string (one assistant turn), one message, or a list of messages. */
function completionMessages(value: unknown, where: string): ConversationMessage[] {
  const parsed = jsonValue(value)
  if (typeof parsed === 'string' || typeof parsed === 'number') {
    return [{ role: 'assistant', content: String(parsed) }]
  }
  if (Array.isArray(parsed)) return normaliseMessages(parsed, where)
  return [normaliseMessage(parsed, where)]
}

/** A prompt: a string (one user turn), one message, or a list of messages. */
function promptMessages(value: unknown, where: string): ConversationMessage[] {
  const parsed = jsonValue(value)
  if (typeof parsed === 'string' || typeof parsed === 'number')
    return [{ role: 'user', content: String(parsed) }]
  if (Array.isArray(parsed)) return normaliseMessages(parsed, where)
  return [normaliseMessage(parsed, where)]
}

/** Where the completion starts: just after the last user turn (see Conversation in the contract). */
export function completionStart(messages: readonly ConversationMessage[]): number {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === 'user') return i + 1
  return 0
}

function sameMessage(a: ConversationMessage, b: ConversationMessage): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

function preference(row: RawRow, mapping: ImportMapping): Conversation {
  const chosenName = `"${mapping.columns.chosen}"`
  const rejectedName = `"${mapping.columns.rejected}"`
  const chosenValue = required(row, mapping, 'chosen')
  const rejectedValue = required(row, mapping, 'rejected')
  const promptValue = optional(row, mapping, 'prompt')
  if (promptValue !== undefined) {
    const prompt = promptMessages(promptValue, `"${mapping.columns.prompt}"`)
    return {
      messages: [...prompt, ...completionMessages(chosenValue, chosenName)],
      rejected: completionMessages(rejectedValue, rejectedName)
    }
  }
  // No prompt column: chosen and rejected are whole conversations sharing everything up to the
  // last user turn.
  const chosen = normaliseMessages(chosenValue, chosenName)
  const rejected = normaliseMessages(rejectedValue, rejectedName)
  const start = completionStart(chosen)
  if (start === 0 || start >= chosen.length) {
    return fail(`${chosenName} must be a conversation ending in assistant turns after a user turn`)
  }
  const shared =
    start <= rejected.length && chosen.slice(0, start).every((m, i) => sameMessage(m, rejected[i]))
  if (!shared || start >= rejected.length) {
    return fail(
      `${chosenName} and ${rejectedName} do not share their prompt (everything up to the last user turn)`
    )
  }
  return { messages: chosen, rejected: rejected.slice(start) }
}

function conversationFromRow(row: RawRow, mapping: ImportMapping): Conversation {
  switch (mapping.format) {
    case 'messages':
    case 'sharegpt': {
      const field = mapping.format === 'messages' ? 'messages' : 'conversations'
      const messages = normaliseMessages(required(row, mapping, field), `"${mapping.columns[field]}"`)
      return { messages: withSystem(row, mapping, messages) }
    }
    case 'alpaca': {
      const instruction = text(required(row, mapping, 'instruction'), `"${mapping.columns.instruction}"`)
      const input = optional(row, mapping, 'input')
      const output = text(required(row, mapping, 'output'), `"${mapping.columns.output}"`)
      const historyValue = optional(row, mapping, 'history')
      const history =
        historyValue === undefined ? [] : alpacaHistory(historyValue, `"${mapping.columns.history}"`)
      const user = alpacaUserText(
        instruction,
        input === undefined ? '' : text(input, `"${mapping.columns.input}"`)
      )
      return {
        messages: withSystem(
          row,
          mapping,
          withReasoning(row, mapping, [
            ...history,
            { role: 'user', content: user },
            { role: 'assistant', content: output }
          ])
        )
      }
    }
    case 'prompt-completion': {
      const prompt = promptMessages(required(row, mapping, 'prompt'), `"${mapping.columns.prompt}"`)
      const completion = completionMessages(
        required(row, mapping, 'completion'),
        `"${mapping.columns.completion}"`
      )
      return { messages: withSystem(row, mapping, withReasoning(row, mapping, [...prompt, ...completion])) }
    }
    case 'preference': {
      const pair = preference(row, mapping)
      return { ...pair, messages: withSystem(row, mapping, pair.messages) }
    }
  }
}

/** The row normalised with the mapping; throws RowError when it cannot be. */
export function normaliseRow(row: RawRow, mapping: ImportMapping): Conversation {
  const conversation = conversationFromRow(row, mapping)
  const rowTools = tools(row, mapping)
  if (rowTools) conversation.tools = rowTools
  // Every column the mapping does not read is kept, null cells included: a CSV or Parquet column
  // has a value in every row, and writing it back as it was is what makes export lossless.
  const metadata = unconsumedEntries(row, columnsRead(mapping))
  if (metadata) conversation.metadata = metadata
  checkConversation(conversation)
  return conversation
}

/** The fields each format reads (tools in every one); a column mapped to another field is unread. */
const FORMAT_FIELDS: Record<ImportFormat, readonly ImportColumnField[]> = {
  messages: ['messages', 'tools', 'system'],
  sharegpt: ['conversations', 'tools', 'system'],
  alpaca: ['instruction', 'input', 'output', 'history', 'system', 'reasoning', 'tools'],
  'prompt-completion': ['prompt', 'completion', 'system', 'reasoning', 'tools'],
  preference: ['chosen', 'rejected', 'prompt', 'system', 'tools']
}

/** The columns a mapping reads from each row. */
export function columnsRead(mapping: ImportMapping): Set<string> {
  const read = new Set<string>()
  for (const field of FORMAT_FIELDS[mapping.format]) {
    const column = mapping.columns[field]
    if (column !== undefined) read.add(column)
  }
  return read
}

/** What every sample must be, whatever its source: something to train on. */
export function checkConversation(conversation: Conversation): void {
  const trainable = (messages: readonly ConversationMessage[]) =>
    messages.some((m) => m.role === 'assistant' && (m.content !== '' || m.tool_calls !== undefined))
  if (!trainable(conversation.messages)) fail('no assistant turn to train on')
  if (conversation.rejected && !trainable(conversation.rejected))
    fail('the rejected completion has no assistant turn')
}

// ---------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------

const PROMPT_SYNONYMS = ['prompt', 'question', 'query', 'problem', 'input', 'instruction', 'text']
const COMPLETION_SYNONYMS = ['completion', 'answer', 'response', 'solution', 'output', 'target', 'reply']

function firstPresent(columns: ReadonlySet<string>, names: readonly string[]): string | undefined {
  return names.find((name) => columns.has(name))
}

/** Columns that hold the reasoning of the answer, as distillation datasets name them. */
const REASONING_SYNONYMS = ['reasoning_content', 'reasoning', 'thinking']

function optionalColumns(
  columns: ReadonlySet<string>,
  fields: Partial<Record<ImportColumnField, string>>
): Partial<Record<ImportColumnField, string>> {
  const out: Partial<Record<ImportColumnField, string>> = {}
  for (const [field, name] of Object.entries(fields)) {
    if (name !== undefined && columns.has(name)) out[field as ImportColumnField] = name
  }
  return out
}

/** The usual column names of a format, kept where the file has them. */
export function defaultMapping(format: ImportFormat, columnList: readonly string[]): ImportMapping {
  const columns = new Set(columnList)
  const extras = optionalColumns(columns, { tools: 'tools', system: 'system' })
  const reasoning = firstPresent(columns, REASONING_SYNONYMS)
  switch (format) {
    case 'messages':
      return {
        format,
        columns: { messages: firstPresent(columns, ['messages', 'conversations']) ?? 'messages', ...extras }
      }
    case 'sharegpt':
      return {
        format,
        columns: {
          conversations: firstPresent(columns, ['conversations', 'messages']) ?? 'conversations',
          ...extras
        }
      }
    case 'alpaca':
      return {
        format,
        columns: {
          instruction: 'instruction',
          output: 'output',
          ...optionalColumns(columns, { input: 'input', history: 'history', system: 'system', reasoning })
        }
      }
    case 'prompt-completion':
      return {
        format,
        columns: {
          prompt: firstPresent(columns, PROMPT_SYNONYMS) ?? 'prompt',
          completion: firstPresent(columns, COMPLETION_SYNONYMS) ?? 'completion',
          ...optionalColumns(columns, { system: 'system', reasoning })
        }
      }
    case 'preference': {
      const prompt = firstPresent(columns, ['prompt', 'conversations', 'messages', 'question', 'instruction'])
      return {
        format,
        columns: {
          chosen: 'chosen',
          rejected: 'rejected',
          ...(prompt ? { prompt } : {}),
          ...optionalColumns(columns, { system: 'system' })
        }
      }
    }
  }
}

/** Whether a message list is ShareGPT ({from, value}) or OpenAI ({role, content}); null when it cannot tell. */
function looksShareGpt(value: unknown): boolean | null {
  const list = jsonValue(value)
  if (!Array.isArray(list) || !isRecord(list[0])) return null
  if ('from' in list[0]) return true
  return 'role' in list[0] ? false : null
}

/**
 * Guesses the format and mapping from the columns of the first rows. Returns null when nothing
 * fits, with notes that say what was seen.
 */
export function detectMapping(
  columnList: readonly string[],
  rows: readonly RawRow[]
): { mapping: ImportMapping | null; notes: string[] } {
  const columns = new Set(columnList)
  const notes: string[] = []
  let mapping: ImportMapping | null = null
  if (columns.has('chosen') && columns.has('rejected')) {
    mapping = defaultMapping('preference', columnList)
    notes.push(
      mapping.columns.prompt
        ? `preference pairs: "chosen" and "rejected" completions after the prompt in "${mapping.columns.prompt}"`
        : 'preference pairs: "chosen" and "rejected" are whole conversations sharing their prompt'
    )
  } else if (columns.has('messages') || columns.has('conversations')) {
    const name = columns.has('messages') ? 'messages' : 'conversations'
    // Without a telling message, the column's name decides: ShareGPT calls it "conversations".
    const shareGpt =
      looksShareGpt(rows.find((row) => row[name] !== undefined)?.[name]) ?? name === 'conversations'
    mapping = defaultMapping(shareGpt ? 'sharegpt' : 'messages', columnList)
    notes.push(
      shareGpt
        ? `ShareGPT conversations ({from, value}) in "${name}"`
        : `OpenAI messages ({role, content}) in "${name}"`
    )
  } else if (columns.has('instruction') && columns.has('output')) {
    mapping = defaultMapping('alpaca', columnList)
    notes.push('Alpaca rows: instruction (+ input) → user turn, output → assistant turn')
  } else {
    const prompt = firstPresent(columns, PROMPT_SYNONYMS)
    const completion = firstPresent(columns, COMPLETION_SYNONYMS)
    if (prompt && completion && prompt !== completion) {
      mapping = defaultMapping('prompt-completion', columnList)
      const exact = prompt === 'prompt' && completion === 'completion'
      notes.push(
        exact
          ? 'prompt/completion rows'
          : `guessed prompt/completion: "${prompt}" → prompt (user turn), "${completion}" → completion (assistant turn); check the mapping`
      )
    }
  }
  if (mapping === null) {
    notes.push(
      `no known format fits the columns ${columnList.map((c) => `"${c}"`).join(', ') || '(none)'}: map them by hand`
    )
    return { mapping, notes }
  }
  const used = columnsRead(mapping)
  const unused = columnList.filter((c) => !used.has(c))
  if (unused.length > 0) notes.push(`kept as metadata: ${unused.map((c) => `"${c}"`).join(', ')}`)
  return { mapping, notes }
}

/** Checks that a mapping names the columns its format needs. */
export function checkMapping(mapping: ImportMapping): string | null {
  const needs: Record<ImportFormat, ImportColumnField[]> = {
    messages: ['messages'],
    sharegpt: ['conversations'],
    alpaca: ['instruction', 'output'],
    'prompt-completion': ['prompt', 'completion'],
    preference: ['chosen', 'rejected']
  }
  const missing = needs[mapping.format].filter((field) => !mapping.columns[field])
  return missing.length === 0
    ? null
    : `a ${mapping.format} mapping needs a column for ${missing.map((f) => `"${f}"`).join(' and ')}`
}

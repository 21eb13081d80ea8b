/**
 * Samples → JSONL rows in the messages, ShareGPT, Alpaca or raw-text format, each readable again by
 * the importer with the same sample as result (import → export → import is lossless):
 *
 *   messages  {"messages": [...], "tools"?}; a preference pair as {"chosen": [...], "rejected": [...],
 *             "tools"?}, both whole conversations (the importer splits them at the last user turn);
 *             an unpaired preference as LLaMA-Factory's KTO data holds one, {"messages": [...],
 *             "label"}. A message's media parts (content-parts.ts) go back into its content, as a
 *             list of parts, where they stood.
 *   sharegpt  {"conversations": [{from, value}], "tools"?: JSON text, "label"?}; human/gpt/system/observation
 *             turns, an assistant turn's tool calls as a function_call turn after it; a preference
 *             pair as the prompt turns plus "chosen" and "rejected" (one turn each when they are one
 *             plain assistant turn, else lists). Fields ShareGPT has no name for (loss_weight,
 *             tool_call_id, name) stay on the turn, where our importer reads them back.
 *             An assistant turn's reasoning_content stays on its turn (the first, when it is split).
 *   alpaca    {"instruction", "input": "", "output", "history"?, "system"?, "reasoning_content"?}:
 *             only conversations of alternating user/assistant turns (after an optional system
 *             turn) without tool calls, loss weights, per-message metadata or preference pairs, and
 *             with reasoning on the output turn alone; others are skipped with the reason. The
 *             output's reasoning is the row's "reasoning_content", which the importer maps back to
 *             the output turn (the alpaca `reasoning` column).
 *   text      {"text"}: raw-text samples only.
 * A raw-text sample has no messages to write in the first three, and a conversation is no raw
 * text; an unpaired preference's label has no place in Alpaca rows: each such sample is skipped
 * with the reason.
 *
 * Metadata goes back where it came from: a sample's as top-level keys of the row, a message's as
 * keys of its message object (of its first turn, when ShareGPT splits it). A key is never written
 * over one the format writes, nor where the importer would read it as a field (a "system" column
 * beside "messages" would become a system turn): such keys go into a nested "metadata" object
 * instead, which the importer keeps as metadata.metadata — nested once, never lost or misread.
 */
import type { Conversation, ConversationMessage, ExportFormat } from '../../src-preload/contract'
import { columnsRead, detectMapping } from './import-mapping'
import { contentWithMedia, MEDIA_PARTS_KEY, mediaParts } from './content-parts'
import { completionStart } from './normalise'
import { messageKeysConsumed } from './normalise-message'

/** A sample this format cannot express, with why. */
export class ExportSkip extends Error {
  override name = 'ExportSkip'
}

function skip(reason: string): never {
  throw new ExportSkip(reason)
}

type JsonObject = Record<string, unknown>

const NESTED_METADATA = 'metadata'

/**
 * `written` with the metadata added: each key beside the written ones where the importer will
 * leave it alone (keysConsumed says which keys of an object the importer takes), the others in a
 * nested "metadata" object. Moving a key can change what the importer takes (a second reasoning
 * key is read once the first is gone), so the check repeats until nothing moves.
 */
function withMetadata(
  written: JsonObject,
  metadata: JsonObject | undefined,
  keysConsumed: (candidate: JsonObject) => ReadonlySet<string>
): JsonObject {
  if (!metadata) return written
  const beside = new Map<string, unknown>()
  const nested = new Map<string, unknown>()
  for (const [key, value] of Object.entries(metadata)) {
    ;(Object.hasOwn(written, key) ? nested : beside).set(key, value)
  }
  for (;;) {
    // With a nested object to write, a "metadata" key of the metadata must go inside it too.
    if (nested.size > 0 && beside.has(NESTED_METADATA)) {
      nested.set(NESTED_METADATA, beside.get(NESTED_METADATA))
      beside.delete(NESTED_METADATA)
    }
    const candidate: JsonObject = {
      ...written,
      ...Object.fromEntries(beside),
      ...(nested.size > 0 ? { [NESTED_METADATA]: Object.fromEntries(nested) } : {})
    }
    const consumed = keysConsumed(candidate)
    const misread = [...beside.keys()].filter((key) => consumed.has(key))
    if (misread.length === 0) return candidate
    for (const key of misread) {
      nested.set(key, beside.get(key))
      beside.delete(key)
    }
  }
}

/** The columns the importer's detected mapping would read from a row. */
function rowColumnsConsumed(row: JsonObject): ReadonlySet<string> {
  const { mapping } = detectMapping(Object.keys(row), [row])
  return mapping ? columnsRead(mapping) : new Set()
}

function withRowMetadata(row: JsonObject, conversation: Conversation): JsonObject {
  return withMetadata(row, conversation.metadata, rowColumnsConsumed)
}

/** A message as the messages format writes it: its fields, its media parts in its content, its metadata beside them. */
function messageObject(message: ConversationMessage): JsonObject {
  const { metadata, ...fields } = message
  const media = mediaParts(message)
  if (!media) return withMetadata(fields, metadata, messageKeysConsumed)
  const { [MEDIA_PARTS_KEY]: _media, ...rest } = metadata!
  return withMetadata(
    { ...fields, content: contentWithMedia(message.content, media) },
    Object.keys(rest).length > 0 ? rest : undefined,
    messageKeysConsumed
  )
}

/** A raw-text sample has nothing to write in a conversation format. */
function skipRawText(conversation: Conversation, format: string): void {
  if (conversation.text !== undefined)
    skip(`a raw-text sample has no messages for ${format}; export it as text`)
}

function messagesRow(conversation: Conversation): JsonObject {
  skipRawText(conversation, 'messages')
  const tools = conversation.tools ? { tools: conversation.tools } : {}
  const messages = conversation.messages.map(messageObject)
  if (!conversation.rejected)
    return withRowMetadata({ messages, ...tools, ...labelOf(conversation) }, conversation)
  const prompt = messages.slice(0, completionStart(conversation.messages))
  const rejected = [...prompt, ...conversation.rejected.map(messageObject)]
  return withRowMetadata({ chosen: messages, rejected, ...tools }, conversation)
}

const SHAREGPT_FROM: Record<ConversationMessage['role'], string> = {
  system: 'system',
  user: 'human',
  assistant: 'gpt',
  tool: 'observation'
}

function shareGptTurns(message: ConversationMessage): JsonObject[] {
  const extras: JsonObject = {}
  if (message.loss_weight !== undefined) extras.loss_weight = message.loss_weight
  if (message.tool_call_id !== undefined) extras.tool_call_id = message.tool_call_id
  if (message.name !== undefined) extras.name = message.name
  const turns: JsonObject[] = []
  const calls = message.tool_calls ?? []
  if (calls.length === 0 || message.content !== '') {
    turns.push({ from: SHAREGPT_FROM[message.role], value: message.content, ...extras })
  }
  if (calls.length > 0) {
    const values = calls.map((call) => ({
      name: call.function.name,
      arguments: call.function.arguments,
      ...(call.id !== undefined ? { id: call.id } : {})
    }))
    turns.push({
      from: 'function_call',
      value: JSON.stringify(values.length === 1 ? values[0] : values),
      ...extras
    })
  }
  // Reasoning and metadata ride on the first turn only: the importer joins a function_call turn to
  // the turn before it only when the function_call turn carries neither.
  const reasoning =
    message.reasoning_content !== undefined ? { reasoning_content: message.reasoning_content } : {}
  turns[0] = withMetadata({ ...turns[0], ...reasoning }, message.metadata, messageKeysConsumed)
  return turns
}

function isPlainAssistantTurn(messages: readonly ConversationMessage[]): boolean {
  return (
    messages.length === 1 &&
    messages[0].role === 'assistant' &&
    !messages[0].tool_calls &&
    messages[0].loss_weight === undefined
  )
}

/** An unpaired preference's label, as a row's key (LLaMA-Factory's kto_tag column). */
function labelOf(conversation: Conversation): { label?: boolean } {
  return conversation.label === undefined ? {} : { label: conversation.label }
}

function shareGptRow(conversation: Conversation): JsonObject {
  skipRawText(conversation, 'ShareGPT')
  const tools = conversation.tools ? { tools: JSON.stringify(conversation.tools) } : {}
  if (!conversation.rejected) {
    return withRowMetadata(
      { conversations: conversation.messages.flatMap(shareGptTurns), ...tools, ...labelOf(conversation) },
      conversation
    )
  }
  const start = completionStart(conversation.messages)
  const chosen = conversation.messages.slice(start)
  const completion = (messages: ConversationMessage[]) =>
    isPlainAssistantTurn(messages) ? shareGptTurns(messages[0])[0] : messages.flatMap(shareGptTurns)
  return withRowMetadata(
    {
      conversations: conversation.messages.slice(0, start).flatMap(shareGptTurns),
      chosen: completion(chosen),
      rejected: completion(conversation.rejected),
      ...tools
    },
    conversation
  )
}

function alpacaRow(conversation: Conversation): JsonObject {
  skipRawText(conversation, 'Alpaca')
  if (conversation.label !== undefined) skip('Alpaca has no unpaired preference label; export it as messages')
  if (conversation.rejected) skip('Alpaca has no preference pairs')
  if (conversation.tools) skip('Alpaca has no tools')
  let messages = conversation.messages
  let system: string | undefined
  if (messages[0]?.role === 'system') {
    system = messages[0].content
    messages = messages.slice(1)
  }
  if (messages.length === 0 || messages.length % 2 !== 0) skip('Alpaca needs user/assistant turn pairs')
  for (const [i, message] of messages.entries()) {
    const expected = i % 2 === 0 ? 'user' : 'assistant'
    if (message.role !== expected)
      skip(`Alpaca needs alternating user/assistant turns; turn ${i + 1} is ${message.role}`)
    if (message.tool_calls) skip('Alpaca has no tool calls')
    if (message.loss_weight !== undefined) skip('Alpaca has no per-turn loss_weight')
  }
  const output = messages[messages.length - 1]
  if (
    conversation.messages.some((message) => message !== output && message.reasoning_content !== undefined)
  ) {
    skip('Alpaca carries the reasoning of the output turn only')
  }
  if (conversation.messages.some((message) => message.metadata !== undefined)) {
    skip('Alpaca has no message objects to carry per-message metadata')
  }
  const pairs: [string, string][] = []
  for (let i = 0; i < messages.length; i += 2) pairs.push([messages[i].content, messages[i + 1].content])
  const [instruction] = pairs.pop()!
  const reasoning = output.reasoning_content
  return withRowMetadata(
    {
      instruction,
      input: '',
      output: output.content,
      ...(pairs.length > 0 ? { history: pairs } : {}),
      ...(system !== undefined ? { system } : {}),
      ...(reasoning !== undefined ? { reasoning_content: reasoning } : {})
    },
    conversation
  )
}

function textRow(conversation: Conversation): JsonObject {
  if (conversation.text === undefined)
    skip('a conversation is not raw text; export it as messages, sharegpt or alpaca')
  return withRowMetadata({ text: conversation.text }, conversation)
}

/** One JSONL row for a sample; throws ExportSkip when the format cannot express it. */
export function exportRow(conversation: Conversation, format: ExportFormat): JsonObject {
  switch (format) {
    case 'messages':
      return messagesRow(conversation)
    case 'sharegpt':
      return shareGptRow(conversation)
    case 'alpaca':
      return alpacaRow(conversation)
    case 'text':
      return textRow(conversation)
  }
}

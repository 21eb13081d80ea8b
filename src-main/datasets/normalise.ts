/**
 * Every import format's rows, normalised to the one conversation schema (see Conversation in
 * src-preload/contract). Messages are normalised in normalise-message.ts; which columns a row's
 * fields come from (the mapping, detected or given) is import-mapping.ts's business.
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
 *   prompt-completion  {"prompt", "completion", "system"?, "reasoning"?, "label"?}: strings, or message
 *                      lists; a label (true/false, "true"/"false", 1/0) makes an unpaired preference
 *                      (TRL's KTO rows)
 *   preference         {"chosen", "rejected", "prompt"?}: with a prompt, chosen and rejected are the
 *                      completions (a string, one message or a message list); without one, they are
 *                      whole conversations that share their prompt (LLaMA-Factory v1's
 *                      chosen_messages/rejected_messages mapped to them), or two texts that start
 *                      with it (TRL's implicit prompt)
 *   text               {"text"}: raw text for continued pre-training, `{messages: [], text}`
 *
 * Message objects are read as {role, content} or {from, value} in every format; content given as
 * a list of parts is sorted by part type (content-parts.ts: text, reasoning, tool calls, tool
 * responses, media kept as metadata). A message's reasoning is read from reasoning_content,
 * reasoning or thinking (the first holding text) into reasoning_content; Alpaca and
 * prompt/completion rows may name a `reasoning` column for the answer's reasoning.
 *
 * Nothing the source holds is dropped: columns the mapping does not name become the sample's
 * `metadata`, keys of a message object the importer does not read the message's `metadata` (see
 * Conversation in the contract); export writes both back where they came from. Only null or "" in
 * a key that means something to us (a message's `name: null`) is dropped, as the absence it says.
 *
 * A row that cannot be normalised throws RowError (raw-values.ts) with the reason; the importer
 * reports it with the file and line.
 */
import type {
  Conversation,
  ConversationMessage,
  ImportColumnField,
  ImportMapping
} from '../../src-preload/contract'
import { columnsRead } from './import-mapping'
import { fieldMapped, fieldSourceName, fieldValue } from './import-fields'
import { normaliseMessageTurns, normaliseMessages } from './normalise-message'
import { describeValue, fail, jsonValue, preferenceLabelValue, text, unconsumedEntries } from './raw-values'
import type { RawRow } from './sources'

function required(row: RawRow, mapping: ImportMapping, field: ImportColumnField): unknown {
  if (!fieldMapped(mapping, field)) return fail(`the mapping names no column for "${field}"`)
  const value = fieldValue(row, mapping, field)
  if (value === undefined || value === null)
    return fail(`column ${fieldSourceName(mapping, field)} is missing`)
  return value
}

function optional(row: RawRow, mapping: ImportMapping, field: ImportColumnField): unknown {
  const value = fieldValue(row, mapping, field)
  return value === null || value === '' ? undefined : value
}

function tools(row: RawRow, mapping: ImportMapping): unknown[] | undefined {
  const value = optional(row, mapping, 'tools')
  if (value === undefined) return undefined
  const list = jsonValue(value)
  if (!Array.isArray(list))
    return fail(`"${mapping.columns.tools}" must be a list of tools, got ${describeValue(list)}`)
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
function alpacaUserText(instruction: string, input: string): string {
  return input === '' ? instruction : `${instruction}\n\n${input}`
}

function alpacaHistory(value: unknown, where: string): ConversationMessage[] {
  const list = jsonValue(value)
  if (!Array.isArray(list))
    return fail(`${where} must be a list of [user, assistant] pairs, got ${describeValue(list)}`)
  return list.flatMap((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) {
      return fail(`${where}[${i}] must be a [user, assistant] pair, got ${describeValue(pair)}`)
    }
    return [
      { role: 'user' as const, content: text(pair[0], `${where}[${i}][0]`) },
      { role: 'assistant' as const, content: text(pair[1], `${where}[${i}][1]`) }
    ]
  })
}

/** A prompt or completion: a string (one turn of `role`), one message, or a list of messages. */
function turnMessages(value: unknown, where: string, role: 'user' | 'assistant'): ConversationMessage[] {
  const parsed = jsonValue(value)
  if (typeof parsed === 'string' || typeof parsed === 'number') return [{ role, content: String(parsed) }]
  if (Array.isArray(parsed)) return normaliseMessages(parsed, where)
  return normaliseMessageTurns(parsed, where)
}

/** Where the completion starts: just after the last user turn (see Conversation in the contract). */
export function completionStart(messages: readonly ConversationMessage[]): number {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === 'user') return i + 1
  return 0
}

function sameMessage(a: ConversationMessage, b: ConversationMessage): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/**
 * A pair of texts with the prompt left in both (TRL's standard preference rows with an implicit
 * prompt): the prompt is what they share from the start, as TRL's extract_prompt cuts it (a space
 * before the first difference goes with the completions), a user turn; the rest are the completions.
 */
function implicitPromptPair(
  chosen: string,
  rejected: string,
  chosenName: string,
  rejectedName: string
): Conversation {
  let shared = 0
  while (shared < chosen.length && shared < rejected.length && chosen[shared] === rejected[shared]) shared++
  if (shared > 0 && chosen[shared - 1] === ' ') shared--
  if (shared === 0 || shared === chosen.length || shared === rejected.length) {
    return fail(`${chosenName} and ${rejectedName} do not share a prompt and differ after it`)
  }
  return {
    messages: [
      { role: 'user', content: chosen.slice(0, shared) },
      { role: 'assistant', content: chosen.slice(shared) }
    ],
    rejected: [{ role: 'assistant', content: rejected.slice(shared) }]
  }
}

function preference(row: RawRow, mapping: ImportMapping): Conversation {
  const chosenName = `"${mapping.columns.chosen}"`
  const rejectedName = `"${mapping.columns.rejected}"`
  const chosenValue = required(row, mapping, 'chosen')
  const rejectedValue = required(row, mapping, 'rejected')
  const promptValue = optional(row, mapping, 'prompt')
  if (promptValue !== undefined) {
    const prompt = turnMessages(promptValue, `"${mapping.columns.prompt}"`, 'user')
    return {
      messages: [...prompt, ...turnMessages(chosenValue, chosenName, 'assistant')],
      rejected: turnMessages(rejectedValue, rejectedName, 'assistant')
    }
  }
  const chosenText = jsonValue(chosenValue)
  const rejectedText = jsonValue(rejectedValue)
  if (typeof chosenText === 'string' && typeof rejectedText === 'string') {
    return implicitPromptPair(chosenText, rejectedText, chosenName, rejectedName)
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

/** The row's unpaired preference label, when the mapping reads one (see preferenceLabelValue). */
function withLabel(row: RawRow, mapping: ImportMapping, conversation: Conversation): Conversation {
  const value = optional(row, mapping, 'label')
  if (value === undefined) return conversation
  const label = preferenceLabelValue(value)
  if (label === null) {
    return fail(
      `${fieldSourceName(mapping, 'label')} must be true or false (or 1/0), got ${describeValue(value)}`
    )
  }
  return { ...conversation, label }
}

/** A raw-text row's text, as it is (whitespace included); text of whitespace alone is no sample. */
function rawText(row: RawRow, mapping: ImportMapping): string {
  const value = text(required(row, mapping, 'text'), fieldSourceName(mapping, 'text'))
  if (value.trim() === '') return fail(`${fieldSourceName(mapping, 'text')} is empty`)
  return value
}

function conversationFromRow(row: RawRow, mapping: ImportMapping): Conversation {
  switch (mapping.format) {
    case 'messages':
    case 'sharegpt': {
      const field = mapping.format === 'messages' ? 'messages' : 'conversations'
      const messages = normaliseMessages(required(row, mapping, field), `"${mapping.columns[field]}"`)
      return withLabel(row, mapping, { messages: withSystem(row, mapping, messages) })
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
      const prompt = turnMessages(required(row, mapping, 'prompt'), `"${mapping.columns.prompt}"`, 'user')
      const completion = turnMessages(
        required(row, mapping, 'completion'),
        `"${mapping.columns.completion}"`,
        'assistant'
      )
      return withLabel(row, mapping, {
        messages: withSystem(row, mapping, withReasoning(row, mapping, [...prompt, ...completion]))
      })
    }
    case 'preference': {
      const pair = preference(row, mapping)
      return { ...pair, messages: withSystem(row, mapping, pair.messages) }
    }
    case 'text':
      return { messages: [], text: rawText(row, mapping) }
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

/** What every sample must be, whatever its source: something to train on. */
export function checkConversation(conversation: Conversation): void {
  if (conversation.text !== undefined) return checkRawText(conversation)
  const trainable = (messages: readonly ConversationMessage[]) =>
    messages.some((m) => m.role === 'assistant' && (m.content !== '' || m.tool_calls !== undefined))
  if (!trainable(conversation.messages)) fail('no assistant turn to train on')
  if (conversation.rejected && !trainable(conversation.rejected))
    fail('the rejected completion has no assistant turn')
  if (conversation.rejected && conversation.label !== undefined)
    fail('a sample is a preference pair or has a label (unpaired preference), not both')
}

/** A raw-text sample is its text alone (see Conversation in the contract). */
function checkRawText(conversation: Conversation): void {
  if (conversation.text!.trim() === '') fail('the text is empty')
  if (conversation.messages.length > 0) fail('a raw-text sample has no messages')
  if (conversation.rejected || conversation.tools || conversation.label !== undefined)
    fail('a raw-text sample has no rejected completion, tools or label')
}

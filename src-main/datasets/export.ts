/**
 * Samples → JSONL rows in the messages, ShareGPT or Alpaca format, each readable again by the
 * importer with the same conversation as result (import → export → import is lossless):
 *
 *   messages  {"messages": [...], "tools"?}; a preference pair as {"chosen": [...], "rejected": [...],
 *             "tools"?}, both whole conversations (the importer splits them at the last user turn)
 *   sharegpt  {"conversations": [{from, value}], "tools"?: JSON text}; human/gpt/system/observation
 *             turns, an assistant turn's tool calls as a function_call turn after it; a preference
 *             pair as the prompt turns plus "chosen" and "rejected" (one turn each when they are one
 *             plain assistant turn, else lists). Fields ShareGPT has no name for (loss_weight,
 *             tool_call_id, name) stay on the turn, where our importer reads them back.
 *   alpaca    {"instruction", "input": "", "output", "history"?, "system"?}: only conversations of
 *             alternating user/assistant turns (after an optional system turn) without tool calls,
 *             loss weights or preference pairs; others are skipped with the reason.
 */
import type { Conversation, ConversationMessage, ExportFormat } from '../../src-preload/contract'
import { completionStart } from './normalise'

/** A sample this format cannot express, with why. */
export class ExportSkip extends Error {
  override name = 'ExportSkip'
}

function skip(reason: string): never {
  throw new ExportSkip(reason)
}

function messagesRow(conversation: Conversation): Record<string, unknown> {
  const tools = conversation.tools ? { tools: conversation.tools } : {}
  if (!conversation.rejected) return { messages: conversation.messages, ...tools }
  const prompt = conversation.messages.slice(0, completionStart(conversation.messages))
  return { chosen: conversation.messages, rejected: [...prompt, ...conversation.rejected], ...tools }
}

const SHAREGPT_FROM: Record<ConversationMessage['role'], string> = {
  system: 'system',
  user: 'human',
  assistant: 'gpt',
  tool: 'observation'
}

function shareGptTurns(message: ConversationMessage): Record<string, unknown>[] {
  const extras: Record<string, unknown> = {}
  if (message.loss_weight !== undefined) extras.loss_weight = message.loss_weight
  if (message.tool_call_id !== undefined) extras.tool_call_id = message.tool_call_id
  if (message.name !== undefined) extras.name = message.name
  const turns: Record<string, unknown>[] = []
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

function shareGptRow(conversation: Conversation): Record<string, unknown> {
  const tools = conversation.tools ? { tools: JSON.stringify(conversation.tools) } : {}
  if (!conversation.rejected) return { conversations: conversation.messages.flatMap(shareGptTurns), ...tools }
  const start = completionStart(conversation.messages)
  const chosen = conversation.messages.slice(start)
  const completion = (messages: ConversationMessage[]) =>
    isPlainAssistantTurn(messages) ? shareGptTurns(messages[0])[0] : messages.flatMap(shareGptTurns)
  return {
    conversations: conversation.messages.slice(0, start).flatMap(shareGptTurns),
    chosen: completion(chosen),
    rejected: completion(conversation.rejected),
    ...tools
  }
}

function alpacaRow(conversation: Conversation): Record<string, unknown> {
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
  const pairs: [string, string][] = []
  for (let i = 0; i < messages.length; i += 2) pairs.push([messages[i].content, messages[i + 1].content])
  const [instruction, output] = pairs.pop()!
  return {
    instruction,
    input: '',
    output,
    ...(pairs.length > 0 ? { history: pairs } : {}),
    ...(system !== undefined ? { system } : {})
  }
}

/** One JSONL row for a sample; throws ExportSkip when the format cannot express it. */
export function exportRow(conversation: Conversation, format: ExportFormat): Record<string, unknown> {
  switch (format) {
    case 'messages':
      return messagesRow(conversation)
    case 'sharegpt':
      return shareGptRow(conversation)
    case 'alpaca':
      return alpacaRow(conversation)
  }
}

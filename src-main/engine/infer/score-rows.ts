/**
 * Rows to score, read from JSON Lines. Each line is one of:
 *
 *   {"input_ids": [...], "labels": [...]}   pre-tokenized; labels −100 = not scored (HF layout,
 *                                          label at t predicted from positions < t); without
 *                                          "labels" every token after the first is scored
 *   {"prompt": ..., "completion": ...}     text or message lists; the completion is scored
 *   {"messages": [...]}                    a conversation; the assistant turns are scored
 *
 * Text rows are tokenized as for training (tokenizer/labels.ts), except that no end-of-sequence
 * token is appended to a plain-text completion: the score is that of the completion text itself.
 */
import { readFileSync } from 'node:fs'
import type { ChatMessage } from '../tokenizer/chat-template'
import {
  encodeChatForTraining,
  encodePromptCompletion,
  IGNORE_INDEX,
  type PromptCompletion
} from '../tokenizer/labels'
import type { TextTokenizer } from '../tokenizer/tokenizer'
import type { ScoreRow } from './scoring'

export interface ScoreRowLimits {
  vocabSize: number
  /** The model's context length. */
  maxPositions: number
}

/**
 * Reads and tokenizes every row of a JSONL file. `tokenizer` is called only when a text row needs
 * it (pre-tokenized data works without one). Errors name the file and line.
 */
export function readScoreRows(
  path: string,
  tokenizer: () => TextTokenizer,
  limits: ScoreRowLimits
): ScoreRow[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new Error(`score rows: cannot read ${path}: ${(error as Error).message}`)
  }
  const rows: ScoreRow[] = []
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return
    const where = `line ${index + 1} of ${path}`
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch (error) {
      throw new Error(`score rows: ${where}: not valid JSON: ${(error as Error).message}`)
    }
    try {
      rows.push(scoreRowFromJson(value, tokenizer, limits))
    } catch (error) {
      throw new Error(`score rows: ${where}: ${(error as Error).message}`)
    }
  })
  return rows
}

/** One row in any of the three forms; throws a message without location (the caller adds it). */
export function scoreRowFromJson(
  value: unknown,
  tokenizer: () => TextTokenizer,
  limits: ScoreRowLimits
): ScoreRow {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`a row must be a JSON object, got ${describe(value)}`)
  }
  const row = value as Record<string, unknown>
  let scored: ScoreRow
  if ('input_ids' in row) scored = pretokenizedRow(row, limits.vocabSize)
  else if ('prompt' in row || 'completion' in row) scored = promptCompletionRow(row, tokenizer())
  else if ('messages' in row) scored = conversationRow(row.messages, tokenizer())
  else throw new Error('a row needs "input_ids" (+ "labels"), "prompt" + "completion", or "messages"')
  if (scored.inputIds.length === 0) throw new Error('the row has no tokens')
  if (scored.inputIds.length > limits.maxPositions) {
    throw new Error(
      `the row has ${scored.inputIds.length} tokens, more than the model's ${limits.maxPositions} positions`
    )
  }
  return scored
}

function pretokenizedRow(row: Record<string, unknown>, vocabSize: number): ScoreRow {
  const inputIds = tokenIds(row.input_ids, '"input_ids"', vocabSize, false)
  if (row.labels === undefined)
    return { inputIds, labels: inputIds.map((id, t) => (t === 0 ? IGNORE_INDEX : id)) }
  const labels = tokenIds(row.labels, '"labels"', vocabSize, true)
  if (labels.length !== inputIds.length) {
    throw new Error(`"labels" has ${labels.length} entries, "input_ids" ${inputIds.length}`)
  }
  return { inputIds, labels }
}

function tokenIds(value: unknown, what: string, vocabSize: number, allowIgnore: boolean): number[] {
  if (!Array.isArray(value)) throw new Error(`${what} must be an array of token ids, got ${describe(value)}`)
  value.forEach((id, i) => {
    const valid =
      Number.isInteger(id) && ((id >= 0 && id < vocabSize) || (allowIgnore && id === IGNORE_INDEX))
    if (!valid) {
      const range = `0…${vocabSize - 1}${allowIgnore ? ` or ${IGNORE_INDEX}` : ''}`
      throw new Error(`${what}[${i}] is ${JSON.stringify(id)}, not a token id (${range})`)
    }
  })
  return value as number[]
}

function promptCompletionRow(row: Record<string, unknown>, tokenizer: TextTokenizer): ScoreRow {
  const { prompt, completion } = row
  const bothText = typeof prompt === 'string' && typeof completion === 'string'
  const bothMessages = Array.isArray(prompt) && Array.isArray(completion)
  if (!bothText && !bothMessages) {
    throw new Error(
      `"prompt" and "completion" must both be strings or both message lists, got ${describe(prompt)} and ${describe(completion)}`
    )
  }
  if (bothMessages) [...(prompt as unknown[]), ...(completion as unknown[])].forEach(checkMessage)
  const example = { prompt, completion } as PromptCompletion
  const { inputIds, labels } = encodePromptCompletion(tokenizer, example, { addEos: false })
  return { inputIds, labels }
}

function conversationRow(messages: unknown, tokenizer: TextTokenizer): ScoreRow {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new Error(`"messages" must be a non-empty list of {role, content}, got ${describe(messages)}`)
  }
  messages.forEach(checkMessage)
  const { inputIds, labels } = encodeChatForTraining(tokenizer, messages as ChatMessage[])
  return { inputIds, labels }
}

function checkMessage(message: unknown, index: number): void {
  const { role, content } = (message ?? {}) as { role?: unknown; content?: unknown }
  if (typeof role !== 'string' || typeof content !== 'string') {
    throw new Error(`message ${index} must be {"role": string, "content": string}, got ${describe(message)}`)
  }
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

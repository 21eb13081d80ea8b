/**
 * Training rows → training examples: one JSONL line per row, in any of four forms, tokenized and
 * labelled, truncated to the run's maximum length.
 *
 *   {"messages": [...], "tools"?: [...]}                  a conversation; assistant turns are trained
 *                                                         (a message's "loss_weight" scales its turn)
 *   {"prompt": ..., "completion": ...}                    strings (raw text: bos + prompt + completion
 *                                                         + eos, completion and eos trained) or message
 *                                                         lists (rendered with the chat template)
 *   {"instruction", "input"?, "output"}                   Alpaca: a user turn holding the instruction,
 *                                                         then "\n\n" + input when input is non-empty,
 *                                                         and an assistant turn holding the output. It
 *                                                         goes through the chat template (the fallback
 *                                                         "User:/Assistant:" one for models without a
 *                                                         template), so instruction and answer are
 *                                                         never glued together as raw text.
 *   {"input_ids", "labels", "weights"?}                   pre-tokenized; labels are NOT shifted
 *                                                         (labels[t] is the target for token t, −100 =
 *                                                         untrained) and may differ from input_ids
 *                                                         (e.g. masked inputs with original labels)
 *
 * Preference pairs (read by preference recipes such as dpo; the others train the chosen side):
 *
 *   {"messages": [...], "rejected": [...]}                the store's form (what runs train on): the
 *                                                         rejected conversation is every message up to
 *                                                         and including the last user turn, then
 *                                                         "rejected" (contract/conversation.ts)
 *   {"chosen": [...], "rejected": [...]}                  two whole conversations (messages export)
 *   {"prompt", "chosen", "rejected"}                      strings, or message lists, as prompt-completion
 *   {"chosen": {"input_ids", "labels", "weights"?},       pre-tokenized, each side as above
 *    "rejected": {...}}
 *
 * Every example is normalised the same way: truncated to `maxSeqLen` tokens keeping the start;
 * the first token is never a target (nothing precedes it — the same rule makes packed samples
 * independent); a token is trained exactly when its label is not −100 and its weight is > 0 (the
 * other one is cleared to match). An example left with no trained token is dropped and reported,
 * not an error: truncation of long prompts is the usual cause.
 *
 * A malformed row is an error naming the file, the line and the reason; nothing is half-read.
 */
import { readFileSync } from 'node:fs'
import type { ChatMessage } from '../tokenizer/chat-template'
import {
  encodeChatForTraining,
  encodePromptCompletion,
  IGNORE_INDEX,
  type ChatEncodeOptions,
  type TokenizedExample
} from '../tokenizer/labels'
import type { TextTokenizer } from '../tokenizer/tokenizer'

/** One side of a row: what a plain (non-preference) row is. */
export type TrainingSideRow =
  | { format: 'messages'; messages: ChatMessage[]; tools: unknown[] | null }
  | { format: 'prompt-completion'; prompt: string; completion: string }
  | { format: 'prompt-completion-chat'; prompt: ChatMessage[]; completion: ChatMessage[] }
  | { format: 'alpaca'; instruction: string; input: string; output: string }
  | { format: 'tokens'; inputIds: number[]; labels: number[]; weights: number[] | null }

/** A row: its chosen (or only) side, and the rejected side of a preference pair. */
export type TrainingRow = TrainingSideRow & { rejected?: TrainingSideRow }

/** Tokens of one sequence, normalised (see the module comment). */
export interface ExampleTokens {
  inputIds: Int32Array
  /** The target for token t, or IGNORE_INDEX (−100); never a target at t = 0. */
  labels: Int32Array
  /** Loss weight per token: > 0 exactly where labels are not −100. */
  weights: Float32Array
}

/** One tokenized, normalised training example. Labels are not shifted (transformers' convention). */
export interface TrainingExample extends ExampleTokens {
  /** 1-based line of the source file, for reports and lineage. */
  line: number
  /** A preference pair's rejected response (the example itself is the chosen one). */
  rejected?: ExampleTokens
}

export interface ExampleOptions {
  /** Needed for every row form except pre-tokenized ids. */
  tokenizer: TextTokenizer | null
  maxSeqLen: number
  /** Chat template options (template, template variables) for conversational rows. */
  chat?: Omit<ChatEncodeOptions, 'tools'>
}

export interface DroppedRow {
  line: number
  reason: string
}

export interface TrainingData {
  examples: TrainingExample[]
  /** Rows read (blank lines not counted). */
  rowCount: number
  /** Examples cut to maxSeqLen (kept). */
  truncatedCount: number
  /** Rows left without any trained token (not kept). */
  dropped: DroppedRow[]
}

/** Reads a JSONL file of training rows (see the module comment). */
export function readTrainingData(file: string, options: ExampleOptions): TrainingData {
  return parseTrainingData(readTrainingText(file), file, options)
}

/** A JSONL file's rows with their 1-based lines, parsed and checked but not tokenized. */
export function readTrainingRows(file: string): { row: TrainingRow; line: number }[] {
  const rows: { row: TrainingRow; line: number }[] = []
  forEachTrainingRow(readTrainingText(file), file, (row, line) => rows.push({ row, line }))
  return rows
}

function readTrainingText(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new Error(`readTrainingData: cannot read ${file}: ${(error as Error).message}`)
  }
}

/** The same, from the file's text; `file` only names it in messages. */
export function parseTrainingData(text: string, file: string, options: ExampleOptions): TrainingData {
  checkMaxSeqLen(options.maxSeqLen)
  const data: TrainingData = { examples: [], rowCount: 0, truncatedCount: 0, dropped: [] }
  data.rowCount = forEachTrainingRow(text, file, (row, line) => {
    const result = exampleFromRow(row, line, options)
    if (result.truncated) data.truncatedCount++
    if (result.example) data.examples.push(result.example)
    else data.dropped.push({ line, reason: result.dropReason })
  })
  return data
}

/**
 * Parses each non-blank line of a JSONL text as a training row and hands it to `visit` with its
 * 1-based line, in order; returns how many rows there were. A line that does not parse, or that
 * `visit` throws on, is an error naming the file and the line.
 */
export function forEachTrainingRow(
  text: string,
  file: string,
  visit: (row: TrainingRow, line: number) => void
): number {
  let rows = 0
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const source = lines[i].trim()
    if (source === '') continue
    const line = i + 1
    const fail = (reason: string): never => {
      throw new Error(`readTrainingData: line ${line} of ${file}: ${reason}`)
    }
    let value: unknown
    try {
      value = JSON.parse(source)
    } catch (error) {
      fail(`invalid JSON (${(error as Error).message})`)
    }
    rows++
    try {
      visit(parseTrainingRow(value), line)
    } catch (error) {
      fail((error as Error).message)
    }
  }
  return rows
}

/** Recognises a row's form and checks its fields; throws with the reason (no location). */
export function parseTrainingRow(value: unknown): TrainingRow {
  if (!isRecord(value)) return invalid(`a row must be a JSON object, got ${describe(value)}`)
  if ('rejected' in value) return parsePreferenceRow(value)
  return parseSideRow(value)
}

function parseSideRow(value: Record<string, unknown>): TrainingSideRow {
  if ('messages' in value) {
    return {
      format: 'messages',
      messages: parseMessages(value.messages, 'messages'),
      tools: parseTools(value)
    }
  }
  if ('prompt' in value || 'completion' in value) {
    const { prompt, completion } = value
    if (typeof prompt === 'string' && typeof completion === 'string') {
      return { format: 'prompt-completion', prompt, completion }
    }
    if (Array.isArray(prompt) && Array.isArray(completion)) {
      return {
        format: 'prompt-completion-chat',
        prompt: parseMessages(prompt, 'prompt'),
        completion: parseMessages(completion, 'completion')
      }
    }
    return invalid(
      `"prompt" and "completion" must both be strings or both be message arrays, got ` +
        `${describe(prompt)} and ${describe(completion)}`
    )
  }
  if ('instruction' in value || 'output' in value) {
    const input = value.input ?? ''
    for (const [key, field] of [
      ['instruction', value.instruction],
      ['input', input],
      ['output', value.output]
    ] as const) {
      if (typeof field !== 'string') invalid(`"${key}" must be a string, got ${describe(field)}`)
    }
    return {
      format: 'alpaca',
      instruction: value.instruction as string,
      input: input as string,
      output: value.output as string
    }
  }
  if ('input_ids' in value) return parseTokenRow(value)
  return invalid(
    'expected {"messages"}, {"prompt","completion"}, {"instruction","input","output"} or ' +
      `{"input_ids","labels"}, got keys ${Object.keys(value).join(', ') || '(none)'}`
  )
}

function parsePreferenceRow(value: Record<string, unknown>): TrainingRow {
  const { rejected, chosen, prompt } = value
  const tools = parseTools(value)
  if ('messages' in value) {
    const messages = parseMessages(value.messages, 'messages')
    const promptTurns = messages.slice(0, promptLength(messages))
    return {
      format: 'messages',
      messages,
      tools,
      rejected: {
        format: 'messages',
        messages: [...promptTurns, ...parseMessages(rejected, 'rejected')],
        tools
      }
    }
  }
  if (!('chosen' in value)) return invalid('a row with "rejected" needs "messages" or "chosen" beside it')
  if (isRecord(chosen) && isRecord(rejected)) {
    return {
      ...sideOf(chosen, 'chosen', parseTokenRow),
      rejected: sideOf(rejected, 'rejected', parseTokenRow)
    }
  }
  if ('prompt' in value) {
    const side = (completion: unknown, key: string) =>
      sideOf({ prompt, completion }, key, (pair) => parseSideRow(pair))
    return { ...side(chosen, 'chosen'), rejected: side(rejected, 'rejected') }
  }
  const conversation = (messages: unknown, key: string): TrainingSideRow => ({
    format: 'messages',
    messages: parseMessages(messages, key),
    tools
  })
  return { ...conversation(chosen, 'chosen'), rejected: conversation(rejected, 'rejected') }
}

/** Parses one side of a pair; its errors say which side. */
function sideOf<T>(value: T, key: string, parse: (value: T) => TrainingSideRow): TrainingSideRow {
  try {
    return parse(value)
  } catch (error) {
    return invalid(`"${key}": ${(error as Error).message}`)
  }
}

/** How many messages make a preference pair's prompt: up to and including the last user turn. */
function promptLength(messages: readonly ChatMessage[]): number {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === 'user') return i + 1
  return 0
}

export type ExampleResult =
  { example: TrainingExample; truncated: boolean } | { example: null; truncated: boolean; dropReason: string }

/** Tokenizes and normalises one row (see the module comment); a pair is kept only with both sides. */
export function exampleFromRow(row: TrainingRow, line: number, options: ExampleOptions): ExampleResult {
  checkMaxSeqLen(options.maxSeqLen)
  const chosen = sideTokens(row, options)
  const rejected = row.rejected ? sideTokens(row.rejected, options) : null
  const truncated = chosen.truncated || (rejected?.truncated ?? false)
  const side = rejected ? 'chosen: ' : ''
  if (!chosen.tokens) return { example: null, truncated, dropReason: `${side}${chosen.dropReason}` }
  if (!rejected) return { example: { ...chosen.tokens, line }, truncated }
  if (!rejected.tokens) return { example: null, truncated, dropReason: `rejected: ${rejected.dropReason}` }
  return { example: { ...chosen.tokens, line, rejected: rejected.tokens }, truncated }
}

type SideResult =
  { tokens: ExampleTokens; truncated: boolean } | { tokens: null; truncated: boolean; dropReason: string }

function sideTokens(row: TrainingSideRow, options: ExampleOptions): SideResult {
  const tokenized = tokenizeRow(row, options)
  if (options.tokenizer && row.format === 'tokens') checkVocabulary(row.inputIds, options.tokenizer)
  const truncated = tokenized.inputIds.length > options.maxSeqLen
  const length = Math.min(tokenized.inputIds.length, options.maxSeqLen)
  const inputIds = Int32Array.from(tokenized.inputIds.slice(0, length))
  const labels = new Int32Array(length).fill(IGNORE_INDEX)
  const weights = new Float32Array(length)
  let trained = 0
  for (let t = 1; t < length; t++) {
    const label = tokenized.labels[t]
    const weight = tokenized.weights[t]
    if (label === IGNORE_INDEX || !(weight > 0)) continue
    labels[t] = label
    weights[t] = weight
    trained++
  }
  if (trained > 0) return { tokens: { inputIds, labels, weights }, truncated }
  const dropReason =
    length === 0
      ? 'no tokens'
      : truncated
        ? `no trained tokens left after truncation to ${options.maxSeqLen} tokens`
        : 'no trained tokens'
  return { tokens: null, truncated, dropReason }
}

/** The user turn of an Alpaca row: the instruction, then a blank line and the input when there is one. */
export function alpacaPrompt(instruction: string, input: string): string {
  return input === '' ? instruction : `${instruction}\n\n${input}`
}

function tokenizeRow(row: TrainingSideRow, options: ExampleOptions): TokenizedExample {
  if (row.format === 'tokens') {
    return {
      inputIds: row.inputIds,
      labels: row.labels,
      weights: row.weights ?? row.labels.map((label) => (label === IGNORE_INDEX ? 0 : 1))
    }
  }
  const tokenizer = options.tokenizer
  if (!tokenizer) return invalid(`a "${row.format}" row needs a tokenizer (only pre-tokenized rows do not)`)
  const chat = options.chat ?? {}
  switch (row.format) {
    case 'messages':
      return encodeChatForTraining(tokenizer, row.messages, { ...chat, tools: row.tools })
    case 'prompt-completion':
      return encodePromptCompletion(tokenizer, { prompt: row.prompt, completion: row.completion }, chat)
    case 'prompt-completion-chat':
      return encodePromptCompletion(tokenizer, { prompt: row.prompt, completion: row.completion }, chat)
    case 'alpaca':
      return encodePromptCompletion(
        tokenizer,
        {
          prompt: [{ role: 'user', content: alpacaPrompt(row.instruction, row.input) }],
          completion: [{ role: 'assistant', content: row.output }]
        },
        chat
      )
  }
}

function parseTools(row: Record<string, unknown>): unknown[] | null {
  const tools = row.tools
  if (tools !== undefined && tools !== null && !Array.isArray(tools)) {
    invalid(`"tools" must be an array, got ${describe(tools)}`)
  }
  return (tools as unknown[] | undefined) ?? null
}

function parseMessages(value: unknown, key: string): ChatMessage[] {
  if (!Array.isArray(value)) return invalid(`"${key}" must be an array, got ${describe(value)}`)
  if (value.length === 0) return invalid(`"${key}" is empty`)
  return value.map((message, i) => {
    const where = `${key}[${i}]`
    if (!isRecord(message)) return invalid(`${where} must be an object, got ${describe(message)}`)
    if (typeof message.role !== 'string' || message.role === '') {
      invalid(`${where}.role must be a non-empty string, got ${describe(message.role)}`)
    }
    const content = message.content ?? (Array.isArray(message.tool_calls) ? '' : undefined)
    if (typeof content !== 'string')
      invalid(`${where}.content must be a string, got ${describe(message.content)}`)
    const weight = message.loss_weight
    if (weight !== undefined && !(typeof weight === 'number' && Number.isFinite(weight) && weight >= 0)) {
      invalid(`${where}.loss_weight must be a finite number ≥ 0, got ${describe(weight)}`)
    }
    return { ...message, role: message.role as string, content: content as string }
  })
}

function parseTokenRow(value: Record<string, unknown>): TrainingSideRow {
  const inputIds = integerArray(value.input_ids, 'input_ids', (id) => id >= 0, 'non-negative')
  const labels = integerArray(
    value.labels,
    'labels',
    (label) => label >= 0 || label === IGNORE_INDEX,
    `non-negative or ${IGNORE_INDEX}`
  )
  if (labels.length !== inputIds.length) {
    invalid(`"labels" has ${labels.length} entries, "input_ids" ${inputIds.length}`)
  }
  const rawWeights = value.weights
  let weights: number[] | null = null
  if (rawWeights !== undefined && rawWeights !== null) {
    if (!Array.isArray(rawWeights)) return invalid(`"weights" must be an array, got ${describe(rawWeights)}`)
    if (rawWeights.length !== inputIds.length) {
      invalid(`"weights" has ${rawWeights.length} entries, "input_ids" ${inputIds.length}`)
    }
    rawWeights.forEach((w, i) => {
      if (!(typeof w === 'number' && Number.isFinite(w) && w >= 0)) {
        invalid(`weights[${i}] must be a finite number ≥ 0, got ${describe(w)}`)
      }
    })
    weights = rawWeights as number[]
  }
  return { format: 'tokens', inputIds, labels, weights }
}

function integerArray(value: unknown, key: string, ok: (n: number) => boolean, what: string): number[] {
  if (!Array.isArray(value)) return invalid(`"${key}" must be an array of integers, got ${describe(value)}`)
  value.forEach((n, i) => {
    if (!(typeof n === 'number' && Number.isInteger(n) && ok(n))) {
      invalid(`${key}[${i}] must be a ${what} integer, got ${describe(n)}`)
    }
  })
  return value as number[]
}

function checkVocabulary(ids: readonly number[], tokenizer: TextTokenizer): void {
  const outside = ids.findIndex((id) => id >= tokenizer.vocabSize)
  if (outside >= 0) {
    invalid(`input_ids[${outside}] = ${ids[outside]} is outside the vocabulary (size ${tokenizer.vocabSize})`)
  }
}

function checkMaxSeqLen(maxSeqLen: number): void {
  if (!Number.isInteger(maxSeqLen) || maxSeqLen < 2) {
    throw new Error(`readTrainingData: maxSeqLen must be an integer ≥ 2, got ${maxSeqLen}`)
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'nothing'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return value.length > 40 ? `a string` : JSON.stringify(value)
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${String(value)}`
}

function invalid(reason: string): never {
  throw new Error(reason)
}

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
 *   {"text"}                                              raw text (continued pre-training): bos + text
 *                                                         + eos, every token trained; a text longer than
 *                                                         `maxSeqLen` is cut into windows of that length
 *                                                         (each its own example), never truncated. The
 *                                                         store writes raw-text samples as
 *                                                         {"messages": [], "text"}.
 *   {"input_ids", "labels", "weights"?}                   pre-tokenized; labels are NOT shifted
 *                                                         (labels[t] is the target for token t, −100 =
 *                                                         untrained) and may differ from input_ids
 *                                                         (e.g. masked inputs with original labels)
 *   {"prompt_ids", "completion_ids", "reward", "group"}   a rollout (RL on given completions, grpo):
 *                                                         input ids = prompt + completion, the completion
 *                                                         trained; the reward and the group id ride along
 *                                                         on the example (`rollout`) for the recipe, which
 *                                                         checks the groups (consecutive rows of one group)
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
 * A row with `"label": false` is an undesirable completion of unpaired preference data (TRL's KTO
 * form): supervised training leaves it out and reports it; `"label": true` trains as usual.
 *
 * A conversation may train as more than one sequence: when the chat template renders an earlier
 * turn differently from how the model generates it (Qwen3 drops the reasoning of turns before the
 * last user query), that turn trains in a rendering of its own (assistant-spans.ts); each sequence
 * is an example with the row's line and its `part`. A conversation the template leaves content out
 * of (template-drops.ts: a tool call or reasoning the template does not render) is dropped with
 * kind 'template_drops', and one the template refuses (raise_exception) or cannot be located in is
 * dropped with the template's error: one sample never aborts a run. The trainer refuses to start on
 * template drops unless told to skip them (TrainConfig.templateDrops).
 *
 * Every example is normalised the same way: truncated to `maxSeqLen` tokens keeping the start;
 * the first token is never a target (nothing precedes it — the same rule makes packed samples
 * independent); a token is trained exactly when its label is not −100 and its weight is > 0 (the
 * other one is cleared to match). An example left with no trained token is dropped and reported,
 * not an error: truncation of long prompts is the usual cause.
 *
 * A malformed row (not JSON, not one of the forms) is an error naming the file, the line and the
 * reason; nothing is half-read.
 */
import { readFileSync } from 'node:fs'
import type { ChatMessage } from '../tokenizer/chat-template'
import {
  encodeChatSequences,
  encodePromptCompletion,
  IGNORE_INDEX,
  type ChatEncodeOptions,
  type TokenizedExample
} from '../tokenizer/labels'
import { describeTemplateDrops } from '../tokenizer/template-drops'
import type { TextTokenizer } from '../tokenizer/tokenizer'

/** One side of a row: what a plain (non-preference) row is. */
export type TrainingSideRow =
  | { format: 'messages'; messages: ChatMessage[]; tools: unknown[] | null }
  | { format: 'prompt-completion'; prompt: string; completion: string }
  | { format: 'prompt-completion-chat'; prompt: ChatMessage[]; completion: ChatMessage[] }
  | { format: 'alpaca'; instruction: string; input: string; output: string }
  | { format: 'tokens'; inputIds: number[]; labels: number[]; weights: number[] | null }
  | { format: 'text'; text: string }
  | ({ format: 'rollout'; promptIds: number[]; completionIds: number[] } & RolloutScore)

/** What a rollout row carries besides its tokens: its reward and the id of its group of completions. */
export interface RolloutScore {
  reward: number
  group: string | number
}

/**
 * A row: its chosen (or only) side, the rejected side of a preference pair, and the label of an
 * unpaired preference (false: undesirable, left out of supervised training).
 */
export type TrainingRow = TrainingSideRow & {
  rejected?: TrainingSideRow
  label?: boolean
  /** The sample's metadata (the store writes it with the conversation): what reward functions may read. */
  metadata?: Record<string, unknown>
}

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
  /** Which of the row's sequences this is, when it trains as several (a raw text's windows, a split conversation). */
  part?: number
  /** A preference pair's rejected response (the example itself is the chosen one). */
  rejected?: ExampleTokens
  /** A rollout row's reward and group (the example is its prompt + completion). */
  rollout?: RolloutScore
  /** The row's metadata, for rewards of rollouts generated from its prompt (online-rollouts.ts). */
  metadata?: Record<string, unknown>
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
  /** 'template_drops': the chat template leaves part of the sample out (see the module comment). */
  kind?: 'template_drops'
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
    addExamples(data, exampleFromRow(row, line, options), line)
  })
  return data
}

/** Adds a row's result to the data: its examples, or the row to the dropped ones. */
export function addExamples(data: TrainingData, result: ExampleResult, line: number): void {
  if (result.truncated) data.truncatedCount++
  if (result.examples.length > 0) data.examples.push(...result.examples)
  else
    data.dropped.push({
      line,
      reason: result.dropReason ?? 'no trained tokens',
      ...(result.dropKind ? { kind: result.dropKind } : {})
    })
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
  const parsed = 'rejected' in value ? parsePreferenceRow(value) : parseSideRow(value)
  const row: TrainingRow = isRecord(value.metadata) ? { ...parsed, metadata: value.metadata } : parsed
  const label = value.label
  if (label === undefined || label === null) return row
  if (typeof label !== 'boolean') return invalid(`"label" must be true or false, got ${describe(label)}`)
  return { ...row, label }
}

/** A raw-text row: {"text"}, or the store's {"messages": [], "text"}. */
function isTextRow(value: Record<string, unknown>): boolean {
  return (
    typeof value.text === 'string' &&
    (value.messages === undefined || (Array.isArray(value.messages) && value.messages.length === 0))
  )
}

function parseSideRow(value: Record<string, unknown>): TrainingSideRow {
  if (isTextRow(value)) {
    if ((value.text as string).trim() === '') return invalid('"text" is empty')
    return { format: 'text', text: value.text as string }
  }
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
  if ('prompt_ids' in value || 'completion_ids' in value) return parseRolloutRow(value)
  return invalid(
    'expected {"messages"}, {"text"}, {"prompt","completion"}, {"instruction","input","output"}, ' +
      `{"input_ids","labels"} or {"prompt_ids","completion_ids","reward","group"}, got keys ${Object.keys(value).join(', ') || '(none)'}`
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

export interface ExampleResult {
  /** The row's examples (one per sequence it trains as); empty when it is dropped. */
  examples: TrainingExample[]
  truncated: boolean
  /** Why the row is dropped (when `examples` is empty). */
  dropReason?: string
  dropKind?: DroppedRow['kind']
}

/** Tokenizes and normalises one row (see the module comment); a pair is kept only with both sides. */
export function exampleFromRow(row: TrainingRow, line: number, options: ExampleOptions): ExampleResult {
  checkMaxSeqLen(options.maxSeqLen)
  if (row.label === false) {
    return {
      examples: [],
      truncated: false,
      dropReason: 'an undesirable completion (label false): supervised training leaves it out'
    }
  }
  const chosen = sideSequences(row, options)
  const rejected = row.rejected ? sideSequences(row.rejected, options) : null
  const truncated = chosen.truncated || (rejected?.truncated ?? false)
  const dropped = (side: string, result: SideResult): ExampleResult => ({
    examples: [],
    truncated,
    dropReason: `${side}${result.dropReason}`,
    dropKind: result.dropKind
  })
  if (chosen.sequences.length === 0) return dropped(rejected ? 'chosen: ' : '', chosen)
  if (!rejected) {
    const parts = chosen.sequences.length > 1
    const rollout = row.format === 'rollout' ? { rollout: { reward: row.reward, group: row.group } } : {}
    const metadata = row.metadata ? { metadata: row.metadata } : {}
    return {
      examples: chosen.sequences.map((tokens, part) => ({
        ...tokens,
        line,
        ...(parts ? { part } : {}),
        ...rollout,
        ...metadata
      })),
      truncated
    }
  }
  if (rejected.sequences.length === 0) return dropped('rejected: ', rejected)
  const split = [chosen, rejected].findIndex((side) => side.sequences.length > 1)
  if (split >= 0) {
    return {
      examples: [],
      truncated,
      dropReason: `${split === 0 ? 'chosen' : 'rejected'}: the chat template makes it more than one sequence; a preference pair compares one per side`
    }
  }
  return { examples: [{ ...chosen.sequences[0], line, rejected: rejected.sequences[0] }], truncated }
}

interface SideResult {
  /** Normalised sequences with trained tokens; empty when the side has none (dropReason says why). */
  sequences: ExampleTokens[]
  truncated: boolean
  dropReason?: string
  dropKind?: DroppedRow['kind']
}

function sideSequences(row: TrainingSideRow, options: ExampleOptions): SideResult {
  const tokenized = tokenizeRow(row, options)
  if (tokenized.sequences === null) {
    return { sequences: [], truncated: false, dropReason: tokenized.reason, dropKind: tokenized.kind }
  }
  if (options.tokenizer && row.format === 'tokens')
    checkVocabulary(row.inputIds, 'input_ids', options.tokenizer)
  if (options.tokenizer && row.format === 'rollout') {
    checkVocabulary(row.promptIds, 'prompt_ids', options.tokenizer)
    checkVocabulary(row.completionIds, 'completion_ids', options.tokenizer)
  }
  const normalised = tokenized.sequences.map((sequence) => normaliseSequence(sequence, options.maxSeqLen))
  const truncated = normalised.some((sequence) => sequence.truncated)
  const kept = normalised.flatMap((sequence) => (sequence.tokens ? [sequence.tokens] : []))
  if (kept.length > 0) return { sequences: kept, truncated }
  const [first] = normalised
  const dropReason =
    first.length === 0
      ? 'no tokens'
      : truncated
        ? `no trained tokens left after truncation to ${options.maxSeqLen} tokens`
        : 'no trained tokens'
  return { sequences: [], truncated, dropReason }
}

/** One sequence cut to maxSeqLen, labels and weights cleared to match; tokens null without a trained one. */
function normaliseSequence(
  tokenized: TokenizedExample,
  maxSeqLen: number
): { tokens: ExampleTokens | null; truncated: boolean; length: number } {
  const truncated = tokenized.inputIds.length > maxSeqLen
  const length = Math.min(tokenized.inputIds.length, maxSeqLen)
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
  return { tokens: trained > 0 ? { inputIds, labels, weights } : null, truncated, length }
}

/** The user turn of an Alpaca row: the instruction, then a blank line and the input when there is one. */
export function alpacaPrompt(instruction: string, input: string): string {
  return input === '' ? instruction : `${instruction}\n\n${input}`
}

/** A row's sequences before normalisation, or why it has none. */
type TokenizedRow =
  { sequences: TokenizedExample[] } | { sequences: null; reason: string; kind?: DroppedRow['kind'] }

function tokenizeRow(row: TrainingSideRow, options: ExampleOptions): TokenizedRow {
  if (row.format === 'tokens') {
    const weights = row.weights ?? row.labels.map((label) => (label === IGNORE_INDEX ? 0 : 1))
    return { sequences: [{ inputIds: row.inputIds, labels: row.labels, weights }] }
  }
  if (row.format === 'rollout') return { sequences: [rolloutSequence(row.promptIds, row.completionIds)] }
  const tokenizer = options.tokenizer
  if (!tokenizer) return invalid(`a "${row.format}" row needs a tokenizer (only pre-tokenized rows do not)`)
  const chat = options.chat ?? {}
  switch (row.format) {
    case 'text':
      return { sequences: textWindows(tokenizer, row.text, options.maxSeqLen) }
    case 'prompt-completion':
      return {
        sequences: [
          encodePromptCompletion(tokenizer, { prompt: row.prompt, completion: row.completion }, chat)
        ]
      }
    case 'messages':
      return chatSequences(tokenizer, row.messages, { ...chat, tools: row.tools })
    case 'prompt-completion-chat':
      return chatSequences(tokenizer, [...untrained(row.prompt), ...row.completion], chat)
    case 'alpaca':
      return chatSequences(
        tokenizer,
        [
          { role: 'user', content: alpacaPrompt(row.instruction, row.input), loss_weight: 0 },
          { role: 'assistant', content: row.output }
        ],
        chat
      )
  }
}

/** A prompt's messages, none of them trained. */
export function untrained(messages: readonly ChatMessage[]): ChatMessage[] {
  return messages.map((message) => ({ ...message, loss_weight: 0 }))
}

/**
 * A conversation's sequences; a conversation the template leaves content out of, or refuses, has
 * none, with why (see the module comment).
 */
function chatSequences(
  tokenizer: TextTokenizer,
  messages: readonly ChatMessage[],
  options: ChatEncodeOptions
): TokenizedRow {
  try {
    const { sequences, drops } = encodeChatSequences(tokenizer, messages, options)
    if (drops.length > 0)
      return { sequences: null, reason: describeTemplateDrops(drops), kind: 'template_drops' }
    return { sequences }
  } catch (error) {
    // The template's own errors (raise_exception, a turn it cannot place) concern this sample only.
    const message = (error as Error).message
    if (!message.startsWith('chat template')) throw error
    return { sequences: null, reason: message }
  }
}

/**
 * A raw text as training sequences: bos (when the tokenizer adds one) + text + eos, every token
 * trained, cut into windows of maxSeqLen tokens so that nothing is truncated.
 */
function textWindows(tokenizer: TextTokenizer, text: string, maxSeqLen: number): TokenizedExample[] {
  const bos = tokenizer.addsBos && tokenizer.bos ? [tokenizer.bos.id] : []
  const eos = tokenizer.eos ? [tokenizer.eos.id] : []
  const ids = [...bos, ...tokenizer.encode(text, { addSpecialTokens: false }), ...eos]
  const windows: TokenizedExample[] = []
  for (let start = 0; start < ids.length; start += maxSeqLen) {
    const inputIds = ids.slice(start, start + maxSeqLen)
    windows.push({ inputIds, labels: inputIds, weights: inputIds.map(() => 1) })
  }
  return windows
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

/** A rollout as one sequence: prompt + completion, the completion trained. */
function rolloutSequence(promptIds: readonly number[], completionIds: readonly number[]): TokenizedExample {
  return {
    inputIds: [...promptIds, ...completionIds],
    labels: [...promptIds.map(() => IGNORE_INDEX), ...completionIds],
    weights: [...promptIds.map(() => 0), ...completionIds.map(() => 1)]
  }
}

function parseRolloutRow(value: Record<string, unknown>): TrainingSideRow {
  const nonNegative = (n: number) => n >= 0
  const promptIds = integerArray(value.prompt_ids, 'prompt_ids', nonNegative, 'non-negative')
  const completionIds = integerArray(value.completion_ids, 'completion_ids', nonNegative, 'non-negative')
  // The first token is never a target, so an empty prompt would leave the completion's first untrained.
  if (promptIds.length === 0) invalid('"prompt_ids" is empty')
  if (completionIds.length === 0) invalid('"completion_ids" is empty')
  const { reward, group } = value
  if (!(typeof reward === 'number' && Number.isFinite(reward))) {
    invalid(`"reward" must be a finite number, got ${describe(reward)}`)
  }
  if (!(typeof group === 'string' || (typeof group === 'number' && Number.isInteger(group)))) {
    invalid(`"group" must be a string or an integer, got ${describe(group)}`)
  }
  return {
    format: 'rollout',
    promptIds,
    completionIds,
    reward: reward as number,
    group: group as string | number
  }
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

function checkVocabulary(ids: readonly number[], key: string, tokenizer: TextTokenizer): void {
  const outside = ids.findIndex((id) => id >= tokenizer.vocabSize)
  if (outside >= 0) {
    invalid(`${key}[${outside}] = ${ids[outside]} is outside the vocabulary (size ${tokenizer.vocabSize})`)
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

/**
 * Which columns of a file a format's fields come from (an ImportMapping): the usual names of each
 * format, the format and mapping guessed from a file's columns and first rows, and the checks a
 * mapping given by hand must pass. Columns a mapping does not read are kept as metadata.
 */
import type { ImportColumnField, ImportFormat, ImportMapping } from '../../src-preload/contract'
import { REASONING_KEYS } from './normalise-message'
import { isRecord, jsonValue } from './raw-values'
import type { RawRow } from './sources'

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

const PROMPT_SYNONYMS = ['prompt', 'question', 'query', 'problem', 'input', 'instruction', 'text']
const COMPLETION_SYNONYMS = ['completion', 'answer', 'response', 'solution', 'output', 'target', 'reply']

function firstPresent(columns: ReadonlySet<string>, names: readonly string[]): string | undefined {
  return names.find((name) => columns.has(name))
}

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
  const reasoning = firstPresent(columns, REASONING_KEYS)
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

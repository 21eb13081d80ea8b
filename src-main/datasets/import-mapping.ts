/**
 * Which columns of a file a format's fields come from (an ImportMapping): the usual names of each
 * format, the format and mapping guessed from a file's columns and first rows (with, per field,
 * what was chosen, why, and the alternatives), and the checks a mapping given by hand must pass.
 * Columns a mapping does not read are kept as metadata. Multiple-choice rows are
 * import-choices.ts's; reading a field's value (paths, templates) is import-fields.ts's.
 */
import type {
  ImportColumnField,
  ImportFieldChoice,
  ImportFormat,
  ImportMapping
} from '../../src-preload/contract'
import { detectMultipleChoice } from './import-choices'
import { fieldColumns, fieldMapped, templateProblem } from './import-fields'
import { REASONING_KEYS } from './normalise-message'
import { isRecord, jsonValue, preferenceLabelValue } from './raw-values'
import type { RawRow } from './sources'

/** The fields each format reads (tools in every one); a column mapped to another field is unread. */
const FORMAT_FIELDS: Record<ImportFormat, readonly ImportColumnField[]> = {
  messages: ['messages', 'tools', 'system', 'label'],
  sharegpt: ['conversations', 'tools', 'system', 'label'],
  alpaca: ['instruction', 'input', 'output', 'history', 'system', 'reasoning', 'tools'],
  'prompt-completion': ['prompt', 'completion', 'system', 'reasoning', 'label', 'tools'],
  preference: ['chosen', 'rejected', 'prompt', 'system', 'tools'],
  text: ['text']
}

/**
 * The columns a mapping reads from each row: a path's top-level column ("question" of
 * "question.stem") and every column a template names.
 */
export function columnsRead(mapping: ImportMapping): Set<string> {
  return new Set(FORMAT_FIELDS[mapping.format].flatMap((field) => fieldColumns(mapping, field)))
}

const PROMPT_SYNONYMS = ['prompt', 'question', 'query', 'problem', 'input', 'instruction', 'text']
const COMPLETION_SYNONYMS = ['completion', 'answer', 'response', 'solution', 'output', 'target', 'reply']
/** Where a preference pair's prompt is, when it has one of its own. */
const PREFERENCE_PROMPTS = ['prompt', 'conversations', 'messages', 'question', 'instruction']

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
          ...optionalColumns(columns, { system: 'system', reasoning, label: 'label' })
        }
      }
    case 'text':
      return { format, columns: { text: firstPresent(columns, ['text', 'content']) ?? 'text' } }
    case 'preference': {
      const prompt = firstPresent(columns, PREFERENCE_PROMPTS)
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

export interface MappingDetection {
  mapping: ImportMapping | null
  /** Why detection chose what it did, guesses to check, the columns kept as metadata. */
  notes: string[]
  fieldChoices: ImportFieldChoice[]
}

/** Whether a message list is ShareGPT ({from, value}) or OpenAI ({role, content}); null when it cannot tell. */
function looksShareGpt(value: unknown): boolean | null {
  const list = jsonValue(value)
  if (!Array.isArray(list) || !isRecord(list[0])) return null
  if ('from' in list[0]) return true
  return 'role' in list[0] ? false : null
}

function firstValue(rows: readonly RawRow[], column: string): unknown {
  return rows.find((row) => row[column] !== undefined && row[column] !== null)?.[column]
}

/** An answer that names a choice without saying it: an index ("1") or a label ("B"). */
function isBareAnswer(value: unknown): boolean {
  if (typeof value === 'number') return Number.isInteger(value)
  return typeof value === 'string' && /^\s*(\d{1,2}|[A-Za-z])\s*$/.test(value)
}

/** An unpaired preference label as files hold it (or none): see preferenceLabelValue. */
function isPreferenceLabel(value: unknown): boolean {
  return value === undefined || value === null || preferenceLabelValue(value) !== null
}

/**
 * A field filled from the first of its candidate columns present, with the others present (and not
 * used elsewhere) as alternatives.
 */
function columnChoice(
  field: ImportColumnField,
  chosen: string,
  candidates: readonly string[],
  columns: ReadonlySet<string>,
  reasons: { why: string; alternativeWhy: (column: string) => string; taken?: readonly string[] }
): ImportFieldChoice {
  const alternatives = candidates
    .filter((c) => c !== chosen && columns.has(c) && !(reasons.taken ?? []).includes(c))
    .map((column) => ({ column, why: reasons.alternativeWhy(column) }))
  return { field, chosen: { column: chosen }, why: reasons.why, alternatives }
}

type Detected = MappingDetection & { mapping: ImportMapping }

function preferenceDetection(columnList: readonly string[], columns: ReadonlySet<string>): Detected | null {
  if (columns.has('chosen_messages') && columns.has('rejected_messages')) {
    return {
      mapping: {
        format: 'preference',
        columns: {
          chosen: 'chosen_messages',
          rejected: 'rejected_messages',
          ...optionalColumns(columns, { system: 'system' })
        }
      },
      notes: [
        'LLaMA-Factory v1 preference pairs: "chosen_messages" and "rejected_messages" are whole conversations sharing their prompt (TRL preference, implicit prompt)'
      ],
      fieldChoices: []
    }
  }
  if (!columns.has('chosen') || !columns.has('rejected')) return null
  const mapping = defaultMapping('preference', columnList)
  const prompt = mapping.columns.prompt
  return {
    mapping,
    notes: [
      prompt
        ? `TRL preference, explicit prompt: "chosen" and "rejected" completions after the prompt in "${prompt}"`
        : 'TRL preference, implicit prompt: "chosen" and "rejected" are whole conversations sharing their prompt'
    ],
    fieldChoices: prompt
      ? [
          columnChoice('prompt', prompt, PREFERENCE_PROMPTS, columns, {
            why: `"${prompt}" is the first column named like a prompt`,
            alternativeWhy: (column) => `also named like a prompt: "${column}"`
          })
        ]
      : []
  }
}

function conversationDetection(
  columnList: readonly string[],
  columns: ReadonlySet<string>,
  rows: readonly RawRow[]
): Detected | null {
  if (!columns.has('messages') && !columns.has('conversations')) return null
  const name = columns.has('messages') ? 'messages' : 'conversations'
  // Without a telling message, the column's name decides: ShareGPT calls it "conversations".
  const shareGpt = looksShareGpt(firstValue(rows, name)) ?? name === 'conversations'
  const mapping = defaultMapping(shareGpt ? 'sharegpt' : 'messages', columnList)
  const notes = [
    shareGpt
      ? `ShareGPT conversations ({from, value}) in "${name}"`
      : `OpenAI messages ({role, content}) in "${name}" (TRL conversational language modeling)`
  ]
  const label = preferenceLabelColumn(columns, rows)
  if (label) {
    mapping.columns.label = label
    notes.push(
      `unpaired preference (KTO, as LLaMA-Factory's kto_tag): "${label}" marks each conversation desirable (true) or not (false)`
    )
  }
  return { mapping, notes, fieldChoices: [] }
}

/** A "label" (or LLaMA-Factory's "kto_tag") column whose values are all true/false: an unpaired preference. */
function preferenceLabelColumn(columns: ReadonlySet<string>, rows: readonly RawRow[]): string | undefined {
  const column = firstPresent(columns, ['label', 'kto_tag'])
  return column !== undefined && rows.every((row) => isPreferenceLabel(row[column])) ? column : undefined
}

/** The completion column: a worked solution beats its bare final answer (MATH: solution, answer). */
function completionColumn(columns: ReadonlySet<string>, prompt: string): string | undefined {
  if (columns.has('solution') && columns.has('answer') && prompt !== 'solution') return 'solution'
  return COMPLETION_SYNONYMS.find((name) => columns.has(name) && name !== prompt)
}

function completionWhy(completion: string, columns: ReadonlySet<string>, bare: unknown): string {
  if (bare !== undefined) {
    return `"${completion}" is named like an answer, but it holds a bare answer (${JSON.stringify(bare)}), not its text: check it`
  }
  if (completion === 'solution' && columns.has('answer')) {
    return '"solution" is the worked solution, which ends in the answer: training on it teaches the working, not only the result'
  }
  return completion === 'completion'
    ? 'the column named "completion"'
    : `"${completion}" is the first column named like an answer`
}

function completionAlternativeWhy(column: string, rows: readonly RawRow[]): string {
  if (column === 'answer' && rows.length > 0 && typeof firstValue(rows, 'solution') === 'string') {
    return `the final answer alone (${JSON.stringify(firstValue(rows, 'answer'))}): trains answering without the working`
  }
  return `also named like an answer: "${column}"`
}

/** The TRL dataset type a prompt/completion mapping is, as a note. */
function promptCompletionNote(mapping: ImportMapping, rows: readonly RawRow[], exact: boolean): string {
  const { prompt, completion, label } = mapping.columns
  if (label) {
    return `TRL unpaired preference (KTO): "${prompt}" and "${completion}" with "${label}" (true: a desirable completion, false: an undesirable one)`
  }
  if (Array.isArray(jsonValue(firstValue(rows, prompt!)))) {
    return `TRL conversational prompt-completion: message lists in "${prompt}" and "${completion}"`
  }
  return exact
    ? 'TRL prompt-completion rows'
    : `guessed prompt/completion: "${prompt}" → prompt (user turn), "${completion}" → completion (assistant turn); check the mapping`
}

function promptCompletionDetection(
  columnList: readonly string[],
  columns: ReadonlySet<string>,
  rows: readonly RawRow[]
): Detected | null {
  const prompt = PROMPT_SYNONYMS.find((name) => columns.has(name))
  const completion = prompt && completionColumn(columns, prompt)
  if (!prompt || !completion) return null
  const { label, ...defaults } = defaultMapping('prompt-completion', columnList).columns
  // A "label" that is not true/false (a class, a score) is not an unpaired preference: metadata.
  const preferenceLabel = label !== undefined && rows.every((row) => isPreferenceLabel(row[label]))
  const mapping: ImportMapping = {
    format: 'prompt-completion',
    columns: { ...defaults, prompt, completion, ...(preferenceLabel ? { label } : {}) }
  }
  const answered = rows.filter((row) => row[completion] !== undefined && row[completion] !== null)
  const bare = answered.length > 0 && answered.every((row) => isBareAnswer(row[completion]))
  const notes = [promptCompletionNote(mapping, rows, prompt === 'prompt' && completion === 'completion')]
  if (completion === 'solution' && columns.has('answer')) {
    notes.push(
      '"solution" is the completion, not "answer": the worked solution ends in the answer, and training on the answer alone teaches answering without working ("answer" is offered instead)'
    )
  }
  if (bare) {
    notes.push(
      `"${completion}" holds bare answers such as ${JSON.stringify(answered[0][completion])}, not their text: the model would learn to answer with them alone; compose the completion with a template if the choices are in the row`
    )
  }
  return {
    mapping,
    notes,
    fieldChoices: [
      columnChoice('prompt', prompt, PROMPT_SYNONYMS, columns, {
        why:
          prompt === 'prompt'
            ? 'the column named "prompt"'
            : `"${prompt}" is the first column named like a prompt`,
        alternativeWhy: (column) => `also named like a prompt: "${column}"`,
        taken: [completion]
      }),
      columnChoice('completion', completion, ['solution', ...COMPLETION_SYNONYMS], columns, {
        why: completionWhy(completion, columns, bare ? answered[0][completion] : undefined),
        alternativeWhy: (column) => completionAlternativeWhy(column, rows),
        taken: [prompt]
      })
    ]
  }
}

function alpacaDetection(columnList: readonly string[], columns: ReadonlySet<string>): Detected | null {
  if (!columns.has('instruction') || !columns.has('output')) return null
  return {
    mapping: defaultMapping('alpaca', columnList),
    notes: ['Alpaca rows: instruction (+ input) → user turn, output → assistant turn'],
    fieldChoices: []
  }
}

function textDetection(columns: ReadonlySet<string>): Detected | null {
  if (!columns.has('text')) return null
  return {
    mapping: { format: 'text', columns: { text: 'text' } },
    notes: ['TRL language modeling: "text" is raw text for continued pre-training (every token is trained)'],
    fieldChoices: []
  }
}

/**
 * Guesses the format and mapping from the columns of the first rows, in order of how telling the
 * columns are: preference pairs, conversations, Alpaca, multiple choice, prompt/completion by
 * synonyms, raw text. Returns a null mapping when nothing fits, with notes that say what was seen.
 */
export function detectMapping(columnList: readonly string[], rows: readonly RawRow[]): MappingDetection {
  const columns = new Set(columnList)
  const detected =
    preferenceDetection(columnList, columns) ??
    conversationDetection(columnList, columns, rows) ??
    alpacaDetection(columnList, columns) ??
    detectMultipleChoice(columns, rows) ??
    promptCompletionDetection(columnList, columns, rows) ??
    textDetection(columns)
  if (detected === null) {
    return {
      mapping: null,
      notes: [
        `no known format fits the columns ${columnList.map((c) => `"${c}"`).join(', ') || '(none)'}: map them by hand`
      ],
      fieldChoices: []
    }
  }
  const used = columnsRead(detected.mapping)
  const unused = columnList.filter((c) => !used.has(c))
  if (unused.length > 0) detected.notes.push(`kept as metadata: ${unused.map((c) => `"${c}"`).join(', ')}`)
  return detected
}

const REQUIRED_FIELDS: Record<ImportFormat, ImportColumnField[]> = {
  messages: ['messages'],
  sharegpt: ['conversations'],
  alpaca: ['instruction', 'output'],
  'prompt-completion': ['prompt', 'completion'],
  preference: ['chosen', 'rejected'],
  text: ['text']
}

/** A column given to two fields: each field reads its own column (a template may reuse any). */
function sharedColumnProblem(mapping: ImportMapping): string | null {
  const fieldOf = new Map<string, ImportColumnField>()
  for (const field of FORMAT_FIELDS[mapping.format]) {
    const column = mapping.columns[field]
    if (column === undefined || mapping.templates?.[field] !== undefined) continue
    const other = fieldOf.get(column)
    if (other) {
      return `column "${column}" is mapped to both "${other}" and "${field}": one column may feed only one field (use a template to use it twice)`
    }
    fieldOf.set(column, field)
  }
  return null
}

/** Checks that a mapping gives the fields its format needs a source, and that its templates parse. */
export function checkMapping(mapping: ImportMapping): string | null {
  const missing = REQUIRED_FIELDS[mapping.format].filter((field) => !fieldMapped(mapping, field))
  if (missing.length > 0) {
    return `a ${mapping.format} mapping needs a column for ${missing.map((f) => `"${f}"`).join(' and ')}`
  }
  for (const field of FORMAT_FIELDS[mapping.format]) {
    const template = mapping.templates?.[field]
    const problem = template === undefined ? null : templateProblem(field, template)
    if (problem) return problem
  }
  return sharedColumnProblem(mapping)
}

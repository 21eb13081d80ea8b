/**
 * Multiple-choice rows recognised at import, composed into a prompt (the question with its
 * lettered choices, as lm-eval's ARC and MMLU prompts show them) and a completion (the correct
 * choice's letter and text) by templates over the row. The answer column alone (an index "1" or a
 * label "B") means nothing without the choices, so it is never the completion unless the user
 * picks it: it is offered as the alternative. Three layouts:
 *   ARC           {question: {stem, choices: [{text, label}]}, answerKey}
 *   choice list   {question, choices: [..], answer: 0-based index}   (Hugging Face cais/mmlu)
 *   choice columns {question, choice0..choiceN, answer: 0-based index} (MMLU CSV as shipped here)
 */
import type { ImportFieldChoice, ImportMapping } from '../../src-preload/contract'
import { isRecord } from './raw-values'
import type { RawRow } from './sources'

export interface MultipleChoiceDetection {
  mapping: ImportMapping
  notes: string[]
  fieldChoices: ImportFieldChoice[]
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
const QUESTION_COLUMNS = ['question', 'prompt', 'problem', 'query', 'input']
const ANSWER_COLUMNS = ['answer', 'answerKey', 'label', 'target']
/** Template variables are the row's columns: only names Jinja can spell are usable. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

function firstPresent(columns: ReadonlySet<string>, names: readonly string[]): string | undefined {
  return names.find((name) => columns.has(name) && IDENTIFIER.test(name))
}

/** A 0-based choice index as a file holds it: a number or a string of digits. */
function choiceIndex(value: unknown): number | null {
  if (typeof value === 'number' && Number.isInteger(value)) return value
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value)
  return null
}

function isArcQuestion(
  value: unknown
): value is { stem: string; choices: { text: unknown; label: unknown }[] } {
  return (
    isRecord(value) &&
    typeof value.stem === 'string' &&
    Array.isArray(value.choices) &&
    value.choices.length > 0 &&
    value.choices.every((choice) => isRecord(choice) && 'text' in choice && 'label' in choice)
  )
}

/** The rows that have the column, or null when none does (nothing to judge by). */
function rowsWith(rows: readonly RawRow[], column: string): RawRow[] | null {
  const having = rows.filter((row) => row[column] !== undefined && row[column] !== null)
  return having.length > 0 ? having : null
}

function indexAlternative(answer: string, example: unknown): ImportFieldChoice['alternatives'][number] {
  return {
    column: answer,
    why: `the bare answer as the file holds it (${JSON.stringify(example)}): it means nothing without the choices, and trains the model to answer with it alone`
  }
}

function arcLayout(columns: ReadonlySet<string>, rows: readonly RawRow[]): MultipleChoiceDetection | null {
  const question = [...columns].find(
    (column) => IDENTIFIER.test(column) && rowsWith(rows, column)?.every((row) => isArcQuestion(row[column]))
  )
  const answer = firstPresent(columns, ANSWER_COLUMNS)
  if (!question || !answer) return null
  const example = rowsWith(rows, answer)?.[0]?.[answer]
  const prompt =
    `{{ ${question}.stem }}{% for choice in ${question}.choices %}\n` +
    '{{ choice.label }}. {{ choice.text }}{% endfor %}'
  const completion =
    `{% set i = (${question}.choices | map(attribute='label')).index(${answer}) %}` +
    `{{ ${question}.choices[i].label }}. {{ ${question}.choices[i].text }}`
  return {
    mapping: { format: 'prompt-completion', columns: {}, templates: { prompt, completion } },
    notes: [
      `multiple choice (ARC layout: "${question}" holds {stem, choices: [{text, label}]}, "${answer}" the correct label): ` +
        "prompt = the question and its lettered choices, completion = the correct choice's letter and text"
    ],
    fieldChoices: [
      {
        field: 'prompt',
        chosen: { template: prompt },
        why: `"${question}.stem" followed by its choices as "A. …" lines: the model needs the choices to pick one`,
        alternatives: [{ column: `${question}.stem`, why: 'the question alone, without its choices' }]
      },
      {
        field: 'completion',
        chosen: { template: completion },
        why: `the choice whose label "${answer}" holds, as its letter and text ("A. cellular telephone")`,
        alternatives: [indexAlternative(answer, example)]
      }
    ]
  }
}

/** The mapping and choices of an index-answered layout, given how the choices are spelt in Jinja. */
function indexedLayout(
  question: string,
  answer: string,
  example: unknown,
  layout: string,
  choices: { loop: string; at: string }
): MultipleChoiceDetection {
  const prompt = `{{ ${question} }}${choices.loop}`
  const completion = `{% set i = ${answer} | int %}{{ "${LETTERS}"[i] }}. {{ ${choices.at} }}`
  return {
    mapping: { format: 'prompt-completion', columns: {}, templates: { prompt, completion } },
    notes: [
      `multiple choice (${layout}, "${answer}" the 0-based index of the correct choice): ` +
        "prompt = the question and its lettered choices, completion = the correct choice's letter and text"
    ],
    fieldChoices: [
      {
        field: 'prompt',
        chosen: { template: prompt },
        why: `"${question}" followed by its choices as "A. …" lines: the model needs the choices to pick one`,
        alternatives: [{ column: question, why: 'the question alone, without its choices' }]
      },
      {
        field: 'completion',
        chosen: { template: completion },
        why: `the choice "${answer}" points at, as its letter and text ("B. …")`,
        alternatives: [indexAlternative(answer, example)]
      }
    ]
  }
}

/** Every row's answer is a 0-based index below its count of choices. */
function answersIndexChoices(
  rows: readonly RawRow[],
  answer: string,
  count: (row: RawRow) => number
): boolean {
  const answered = rowsWith(rows, answer)
  return (
    answered !== null &&
    answered.every((row) => {
      const index = choiceIndex(row[answer])
      return index !== null && index < count(row)
    })
  )
}

/** The question and answer columns of an index-answered layout. */
interface IndexedColumns {
  question: string
  answer: string
}

function choiceListLayout(
  { question, answer }: IndexedColumns,
  rows: readonly RawRow[]
): MultipleChoiceDetection | null {
  const listed = rowsWith(rows, 'choices')
  if (!listed) return null
  const isList = (row: RawRow) =>
    Array.isArray(row.choices) && row.choices.length > 1 && row.choices.every((c) => typeof c === 'string')
  if (!listed.every(isList)) return null
  if (!answersIndexChoices(rows, answer, (row) => (Array.isArray(row.choices) ? row.choices.length : 0)))
    return null
  return indexedLayout(question, answer, rowsWith(rows, answer)![0][answer], '"choices" is a list', {
    loop: `{% for choice in choices %}\n{{ "${LETTERS}"[loop.index0] }}. {{ choice }}{% endfor %}`,
    at: 'choices[i]'
  })
}

/** choice0, choice1, … as the file names them, in order (numbered from 0, as the answer index counts). */
function choiceColumns(columns: ReadonlySet<string>): string[] {
  const numbered = [...columns]
    .map((column) => ({ column, at: /^choice(\d+)$/.exec(column)?.[1] }))
    .filter((entry) => entry.at !== undefined)
    .sort((a, b) => Number(a.at) - Number(b.at))
  const first = Number(numbered[0]?.at)
  const consecutive = numbered.every((entry, i) => Number(entry.at) === first + i)
  return consecutive && numbered.length > 1 && first === 0 ? numbered.map((entry) => entry.column) : []
}

function choiceColumnsLayout(
  { question, answer }: IndexedColumns,
  columns: ReadonlySet<string>,
  rows: readonly RawRow[]
): MultipleChoiceDetection | null {
  const choices = choiceColumns(columns)
  if (choices.length === 0) return null
  if (!answersIndexChoices(rows, answer, () => choices.length)) return null
  const lines = choices.map((column, i) => `\n${LETTERS[i]}. {{ ${column} }}`).join('')
  return indexedLayout(
    question,
    answer,
    rowsWith(rows, answer)![0][answer],
    `choices in ${choices.map((c) => `"${c}"`).join(', ')}`,
    { loop: lines, at: `[${choices.join(', ')}][i]` }
  )
}

/** The multiple-choice layout of the rows, or null when they are not multiple choice. */
export function detectMultipleChoice(
  columns: ReadonlySet<string>,
  rows: readonly RawRow[]
): MultipleChoiceDetection | null {
  if (rows.length === 0) return null
  const arc = arcLayout(columns, rows)
  if (arc) return arc
  const question = firstPresent(columns, QUESTION_COLUMNS)
  const answer = firstPresent(columns, ANSWER_COLUMNS)
  if (!question || !answer) return null
  const indexed = { question, answer }
  return choiceListLayout(indexed, rows) ?? choiceColumnsLayout(indexed, columns, rows)
}

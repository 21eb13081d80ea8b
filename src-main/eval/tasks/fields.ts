/**
 * doc_to_text, doc_to_target, doc_to_choice and description, resolved per document as lm-eval
 * resolves them (ConfigurableTask.doc_to_*):
 *
 * - a whole number is itself (doc_to_target: the gold choice index);
 * - text naming a column of the evaluated split is that column's value, whatever its type;
 * - other text is a Jinja template; a template's digits become a number when the task has
 *   choices ("{{label}}" → 2), and a doc_to_target or doc_to_choice that renders like a list is
 *   read as a Python literal ("{{choices.text}}" → the list);
 * - a list (doc_to_choice, doc_to_target) is itself.
 *
 * Any failure names the task file, the key and the row.
 */
import { TaskFileError, type RowPlace } from './errors'
import { describe } from './key-reader'
import { parsePythonLiteral, PythonLiteralError } from './python-literal'
import { TaskTemplate, TemplateError } from './template'
import type { Doc, Field, FieldSource, PromptFields, TaskConfig } from './types'

/** Where a document comes from, for errors: the task file and the row. */
export interface DocPlace {
  file: string
  place: RowPlace
}

function compileField(file: string, key: string, source: FieldSource, columns: readonly string[]): Field {
  if (typeof source !== 'string') return { kind: 'constant', value: source, key }
  if (columns.includes(source)) return { kind: 'column', column: source, key }
  try {
    return { kind: 'template', template: new TaskTemplate(source), key }
  } catch (error) {
    throw new TaskFileError(file, key, (error as Error).message)
  }
}

/** The keys that make a task's (or its few-shot examples') prompt fields. */
export type FieldSources = Pick<
  TaskConfig,
  'docToText' | 'docToTarget' | 'docToChoice' | 'description' | 'targetDelimiter' | 'fewshotDelimiter'
>

/** Compiles the fields of a task (or of its few-shot examples, with keys under `prefix`). */
export function compilePromptFields(
  file: string,
  sources: FieldSources,
  columns: readonly string[],
  prefix = ''
): PromptFields {
  return {
    docToText: compileField(file, `${prefix}doc_to_text`, sources.docToText, columns),
    docToTarget: compileField(file, `${prefix}doc_to_target`, sources.docToTarget, columns),
    docToChoice:
      sources.docToChoice === null
        ? null
        : compileField(file, `${prefix}doc_to_choice`, sources.docToChoice, columns),
    description:
      sources.description === '' ? null : compileField(file, 'description', sources.description, columns),
    targetDelimiter: sources.targetDelimiter,
    fewshotDelimiter: sources.fewshotDelimiter
  }
}

function fail(where: DocPlace, field: Field, reason: string): never {
  throw new TaskFileError(where.file, field.key, reason, where.place)
}

function columnValue(field: Field & { kind: 'column' }, doc: Doc, where: DocPlace): unknown {
  if (!(field.column in doc) || doc[field.column] === undefined)
    fail(where, field, `the row has no column "${field.column}"`)
  return doc[field.column]
}

function render(field: Field & { kind: 'template' }, doc: Doc, where: DocPlace): string {
  try {
    return field.template.render(doc)
  } catch (error) {
    if (error instanceof TemplateError) fail(where, field, `template error: ${error.message}`)
    throw error
  }
}

function literal(field: Field, text: string, where: DocPlace): unknown {
  try {
    return parsePythonLiteral(text)
  } catch (error) {
    if (error instanceof PythonLiteralError)
      fail(where, field, `the template gives ${describe(text)}, ${error.message}`)
    throw error
  }
}

/** Python's `str.isdigit` for the digits templates render. */
function isDigits(text: string): boolean {
  return /^[0-9]+$/.test(text)
}

/** lm-eval's doc_to_text: the question text (a number would mean a multiple-input task). */
export function docText(fields: PromptFields, doc: Doc, where: DocPlace): string {
  const field = fields.docToText
  let value: unknown
  if (field.kind === 'constant') value = field.value
  else if (field.kind === 'column') value = columnValue(field, doc, where)
  else {
    value = render(field, doc, where)
    if (isDigits(value as string) && fields.docToChoice !== null) value = Number(value)
  }
  if (typeof value === 'number') {
    fail(
      where,
      field,
      `gives the number ${value}, which lm-eval reads as a choice index (a multiple-input task, as Winogrande): not supported`
    )
  }
  if (typeof value !== 'string') fail(where, field, `must give text, got ${describe(value)}`)
  return value
}

/** lm-eval's doc_to_target, before it is matched against the choices. */
export function docTarget(fields: PromptFields, doc: Doc, where: DocPlace): unknown {
  const field = fields.docToTarget
  if (field.kind === 'constant') return field.value
  if (field.kind === 'column') {
    const value = columnValue(field, doc, where)
    // Python's bool is an int: a true/false column is choice 1/0.
    return typeof value === 'boolean' ? Number(value) : value
  }
  const text = render(field, doc, where)
  if (isDigits(text) && fields.docToChoice !== null) return Number(text)
  if (text.length >= 2 && text.startsWith('[') && text.endsWith(']')) {
    try {
      return parsePythonLiteral(text)
    } catch (error) {
      if (!(error instanceof PythonLiteralError)) throw error
    }
  }
  return text
}

/** lm-eval's doc_to_choice: the choices' texts. */
export function docChoices(fields: PromptFields, doc: Doc, where: DocPlace): string[] {
  const field = fields.docToChoice
  if (field === null) throw new Error('docChoices: the task has no doc_to_choice')
  let value: unknown
  if (field.kind === 'constant') value = field.value
  else if (field.kind === 'column') value = columnValue(field, doc, where)
  else value = literal(field, render(field, doc, where), where)
  if (!Array.isArray(value) || value.length === 0 || !value.every((choice) => typeof choice === 'string')) {
    fail(where, field, `must give a non-empty list of texts, got ${describe(value)}`)
  }
  return value
}

/** The description, resolved against the evaluated document (empty when the task has none). */
export function docDescription(fields: PromptFields, doc: Doc, where: DocPlace): string {
  const field = fields.description
  if (field === null) return ''
  const value =
    field.kind === 'column'
      ? columnValue(field, doc, where)
      : field.kind === 'template'
        ? render(field, doc, where)
        : field.value
  if (typeof value !== 'string') fail(where, field, `must give text, got ${describe(value)}`)
  return value
}

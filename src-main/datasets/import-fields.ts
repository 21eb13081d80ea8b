/**
 * Where a field of an import mapping takes its value from a row: a column, a dotted path into a
 * nested column ("question.stem"; a list index is a number: "choices.0"), or a Jinja template over
 * the row that composes the field's text (templates[field], which wins over columns[field]).
 * Templates are rendered as lm-eval task templates are (eval/tasks/template.ts): a name the row
 * lacks is an error, not an empty string, so a row the template does not fit is a bad row.
 */
import { parse, tokenize } from '@huggingface/jinja'
import type { ImportColumnField, ImportMapping } from '../../src-preload/contract'
import { TaskTemplate, TemplateError } from '../eval/tasks/template'
import { fail, isRecord } from './raw-values'
import type { RawRow } from './sources'

/**
 * The value at a column or path of a row; undefined when the path leads nowhere. A column whose
 * own name holds dots (a CSV header "a.b") is read as that column first.
 */
export function valueAtPath(row: RawRow, path: string): unknown {
  if (path in row) return row[path]
  let value: unknown = row
  for (const step of path.split('.')) {
    if (Array.isArray(value) && /^\d+$/.test(step)) value = value[Number(step)]
    else if (isRecord(value)) value = value[step]
    else return undefined
  }
  return value
}

/** The top-level column a path reads ("question.stem" reads "question"). */
export function pathColumn(path: string): string {
  return path.split('.')[0]
}

const compiled = new Map<string, TaskTemplate>()
/** Templates kept parsed: an import uses a few; a server previewing edit after edit must not keep them all. */
const MAX_COMPILED = 64

/** A field's template, parsed once per source; throws TemplateError when it is not valid Jinja. */
function fieldTemplate(source: string): TaskTemplate {
  let template = compiled.get(source)
  if (!template) {
    template = new TaskTemplate(source)
    if (compiled.size >= MAX_COMPILED) compiled.clear()
    compiled.set(source, template)
  }
  return template
}

/** How a field's source is named in errors: `"question.stem"` or `the template for "prompt"`. */
export function fieldSourceName(mapping: ImportMapping, field: ImportColumnField): string {
  if (mapping.templates?.[field] !== undefined) return `the template for "${field}"`
  return `"${mapping.columns[field]}"`
}

/** Whether the mapping gives the field a source at all. */
export function fieldMapped(mapping: ImportMapping, field: ImportColumnField): boolean {
  return mapping.templates?.[field] !== undefined || mapping.columns[field] !== undefined
}

/**
 * The field's value in the row: the template's text, else the value at the column or path
 * (undefined when the mapping gives the field no source or the row has nothing there). A template
 * that fails on the row throws RowError naming the field and the problem.
 */
export function fieldValue(row: RawRow, mapping: ImportMapping, field: ImportColumnField): unknown {
  const template = mapping.templates?.[field]
  if (template !== undefined) {
    try {
      return fieldTemplate(template).render(row)
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error
      return fail(`the template for "${field}" fails on this row: ${error.message}`)
    }
  }
  const column = mapping.columns[field]
  return column === undefined ? undefined : valueAtPath(row, column)
}

/** Why a field's template cannot be used, or null when it parses. */
export function templateProblem(field: ImportColumnField, source: string): string | null {
  try {
    fieldTemplate(source)
    return null
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error
    return `the template for "${field}": ${error.message}`
  }
}

type AstNode = { type: string; [key: string]: unknown }

function isNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && typeof (value as AstNode).type === 'string'
}

/** The parts of a node that may name the row's columns (not filter or test names, keyword keys or attributes). */
function childrenToVisit(node: AstNode): unknown[] {
  switch (node.type) {
    case 'MemberExpression':
      return node.computed ? [node.object, node.property] : [node.object]
    case 'FilterExpression': {
      const filter = node.filter as AstNode
      return [node.operand, ...(filter.type === 'CallExpression' ? (filter.args as unknown[]) : [])]
    }
    case 'TestExpression':
      return [node.operand]
    case 'FilterStatement':
      return [node.body]
    case 'KeywordArgumentExpression':
      return [node.value]
    default:
      return Object.values(node)
  }
}

/** Every identifier a template reads, and every name it binds itself (loop variables, set, macros). */
function templateNames(node: unknown, read: Set<string>, bound: Set<string>): void {
  if (Array.isArray(node)) {
    for (const child of node) templateNames(child, read, bound)
    return
  }
  if (node instanceof Map) {
    for (const [key, value] of node) templateNames([key, value], read, bound)
    return
  }
  if (!isNode(node)) return
  if (node.type === 'Identifier') {
    read.add(node.value as string)
    return
  }
  if (node.type === 'For') templateNames(node.loopvar, bound, bound)
  if (node.type === 'Set') templateNames(node.assignee, bound, bound)
  if (node.type === 'Macro') templateNames([node.name, node.args], bound, bound)
  for (const child of childrenToVisit(node)) templateNames(child, read, bound)
}

/**
 * The row's columns a template reads: the free names of its expressions (`question` in
 * `{{ question.stem }}`), less the names it binds itself (`choice` in `{% for choice in … %}`)
 * and `loop`. A template that does not parse reads nothing (checkMapping refuses it).
 */
export function templateColumns(source: string): string[] {
  let program: unknown
  try {
    program = parse(tokenize(source, {}))
  } catch {
    return []
  }
  const read = new Set<string>()
  const bound = new Set<string>(['loop'])
  templateNames(program, read, bound)
  return [...read].filter((name) => !bound.has(name))
}

/** The top-level columns a field reads: its path's column, or its template's columns. */
export function fieldColumns(mapping: ImportMapping, field: ImportColumnField): string[] {
  const template = mapping.templates?.[field]
  if (template !== undefined) return templateColumns(template)
  const column = mapping.columns[field]
  if (column === undefined) return []
  return [column, pathColumn(column)]
}

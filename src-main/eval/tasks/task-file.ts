/**
 * Reading a task or group file (YAML or JSON) into a plain object, as lm-eval does: `include`
 * merges the named files first (paths relative to the including file; later keys win, one level
 * deep). YAML is read with the maintained `yaml` package, YAML 1.2 core schema (so `yes`/`no`
 * are text, where PyYAML reads booleans) with `<<` merge keys. A custom tag such as lm-eval's `!function` would run
 * Python code there: we refuse it by name rather than read it as a string.
 */
import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { dirname, extname, isAbsolute, resolve } from 'node:path'
import { isMap, isPair, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml'
import { TaskFileError } from './errors'

/** A task file is a few kilobytes; a larger one is refused before it is parsed. */
const MAX_TASK_FILE_BYTES = 4 << 20
const STANDARD_TAG = /^tag:yaml\.org,2002:/

export interface RawTaskFile {
  file: string
  values: Record<string, unknown>
  /** The file and every file it includes, in reading order: what the content hash covers. */
  sources: readonly string[]
}

function readText(file: string, includedBy: string | null): string {
  let size: number
  try {
    const stat = statSync(file)
    if (!stat.isFile()) throw new Error('not a regular file')
    size = stat.size
  } catch (error) {
    const reason = `cannot read the file: ${(error as Error).message}`
    throw includedBy === null
      ? new TaskFileError(file, null, reason)
      : new TaskFileError(includedBy, 'include', `${file}: ${reason}`)
  }
  if (size > MAX_TASK_FILE_BYTES)
    throw new TaskFileError(
      file,
      null,
      `the file has ${size} bytes; a task file may have at most ${MAX_TASK_FILE_BYTES}`
    )
  return readFileSync(file, 'utf8')
}

function keyPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`
  return parent === '' ? key : `${parent}.${key}`
}

/** Refuses any node with a tag outside YAML's standard set, naming the key it sits under. */
function refuseCustomTags(file: string, node: YamlNode | null | undefined, path: string): void {
  if (!node) return
  if (node.tag && !STANDARD_TAG.test(node.tag)) {
    const tag = node.tag.startsWith('!') ? node.tag : `!<${node.tag}>`
    throw new TaskFileError(
      file,
      path === '' ? null : path,
      `the custom YAML tag ${tag} is not supported (lm-eval's "!function" runs Python code; Finetune Studio runs none): write the value out in the file`
    )
  }
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
      refuseCustomTags(file, pair.key as YamlNode, path)
      refuseCustomTags(file, pair.value as YamlNode, keyPath(path, key))
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => refuseCustomTags(file, item as YamlNode, keyPath(path, i)))
  }
}

function parseYaml(file: string, text: string): unknown {
  // Merge keys (`<<: *base`) as PyYAML reads them; aliases stay within the package's limit.
  const document = parseDocument(text, { prettyErrors: true, merge: true })
  const error = document.errors[0]
  if (error) throw new TaskFileError(file, null, `not valid YAML: ${error.message}`)
  refuseCustomTags(file, document.contents as YamlNode, '')
  try {
    return document.toJS()
  } catch (error) {
    // The yaml package refuses alias expansions that would blow up (a "billion laughs" file).
    throw new TaskFileError(file, null, `not valid YAML: ${(error as Error).message}`)
  }
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new TaskFileError(file, null, `not valid JSON: ${(error as Error).message}`)
  }
}

function parseFile(file: string, includedBy: string | null): Record<string, unknown> {
  const text = readText(file, includedBy)
  const value = extname(file).toLowerCase() === '.json' ? parseJson(file, text) : parseYaml(file, text)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TaskFileError(file, null, 'a task file must be a mapping of keys to values')
  }
  return value as Record<string, unknown>
}

function readWithIncludes(
  file: string,
  includedBy: string | null,
  chain: readonly string[],
  sources: string[]
): Record<string, unknown> {
  if (chain.includes(file))
    throw new TaskFileError(file, 'include', `includes itself (${[...chain, file].join(' → ')})`)
  sources.push(file)
  const values = parseFile(file, includedBy)
  if (values.include === undefined || values.include === null) return values
  const includes = typeof values.include === 'string' ? [values.include] : values.include
  if (!Array.isArray(includes) || !includes.every((path) => typeof path === 'string')) {
    throw new TaskFileError(file, 'include', 'must be a file path or a list of file paths')
  }
  const merged: Record<string, unknown> = {}
  for (const path of includes) {
    const included = isAbsolute(path) ? path : resolve(dirname(file), path)
    Object.assign(merged, readWithIncludes(included, file, [...chain, file], sources))
  }
  const own = { ...values }
  delete own.include
  return Object.assign(merged, own)
}

/** The file's keys with its includes merged in. */
export function readTaskFile(path: string): RawTaskFile {
  const file = resolve(path)
  const sources: string[] = []
  const values = readWithIncludes(file, null, [], sources)
  return { file, values, sources }
}

/** sha256 of files' bytes, each labelled with its role so that moving bytes between files changes it. */
export function hashFiles(files: readonly { role: string; path: string }[]): string {
  const hash = createHash('sha256')
  for (const { role, path } of files) {
    const bytes = readFileSync(path)
    hash.update(`${role}\0${bytes.length}\0`)
    hash.update(bytes)
  }
  return hash.digest('hex')
}

/**
 * Reading typed values out of a task file's mappings. Every error names the file and the key's full
 * path (`metric_list[1].aggregation`), so a refused task says exactly what to fix.
 */
import { TaskFileError } from './errors'
import type { FieldSource } from './types'

export type Values = Readonly<Record<string, unknown>>

/** Reads typed values out of one mapping of the file, naming the key in every error. */
export class KeyReader {
  constructor(
    readonly file: string,
    readonly values: Values,
    readonly prefix: string
  ) {}

  key(name: string): string {
    return this.prefix === '' ? name : `${this.prefix}.${name}`
  }

  fail(name: string | null, reason: string): never {
    throw new TaskFileError(
      this.file,
      name === null ? (this.prefix === '' ? null : this.prefix) : this.key(name),
      reason
    )
  }

  /** The value, or undefined when absent or null (lm-eval treats null as not set). */
  raw(name: string): unknown {
    const value = this.values[name]
    return value === null ? undefined : value
  }

  /** Refuses keys outside `allowed`, with the reason when lm-eval defines the key. */
  onlyKeys(allowed: ReadonlySet<string>, refused: Readonly<Record<string, string>> = {}): void {
    for (const [name, value] of Object.entries(this.values)) {
      if (allowed.has(name) || value === null) continue
      const why = refused[name]
      this.fail(name, why ? `not supported: ${why}` : `unknown key; supported: ${[...allowed].join(', ')}`)
    }
  }

  string(name: string): string | undefined
  string(name: string, fallback: string): string
  string(name: string, fallback?: string): string | undefined {
    const value = this.raw(name)
    if (value === undefined) return fallback
    if (typeof value !== 'string') this.fail(name, `must be text, got ${describe(value)}`)
    return value
  }

  requiredString(name: string): string {
    const value = this.string(name)
    if (value === undefined || value === '') this.fail(name, 'is required')
    return value
  }

  oneOf<T extends string>(name: string, options: readonly T[], fallback?: T): T {
    const value = this.raw(name) ?? fallback
    if (value === undefined) this.fail(name, `is required: one of ${options.join(', ')}`)
    if (!options.includes(value as T))
      this.fail(name, `must be one of ${options.join(', ')}, got ${describe(value)}`)
    return value as T
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name)
    if (value === undefined) return fallback
    if (typeof value !== 'boolean') this.fail(name, `must be true or false, got ${describe(value)}`)
    return value
  }

  integer(name: string, fallback: number, min: number): number {
    const value = this.raw(name)
    if (value === undefined) return fallback
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      this.fail(name, `must be a whole number ≥ ${min}, got ${describe(value)}`)
    }
    return value
  }

  number(name: string, fallback: number): number {
    const value = this.raw(name)
    if (value === undefined) return fallback
    if (typeof value !== 'number' || !Number.isFinite(value))
      this.fail(name, `must be a number, got ${describe(value)}`)
    return value
  }

  mapping(name: string): KeyReader | undefined {
    const value = this.raw(name)
    if (value === undefined) return undefined
    if (!isMapping(value)) this.fail(name, `must be a mapping, got ${describe(value)}`)
    return new KeyReader(this.file, value, this.key(name))
  }

  list(name: string): unknown[] | undefined {
    const value = this.raw(name)
    if (value === undefined) return undefined
    if (!Array.isArray(value)) this.fail(name, `must be a list, got ${describe(value)}`)
    return value
  }

  stringList(name: string): string[] | undefined {
    const value = this.raw(name)
    if (value === undefined) return undefined
    const list = typeof value === 'string' ? [value] : value
    if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) {
      this.fail(name, `must be text or a list of text, got ${describe(value)}`)
    }
    return list
  }

  /** A doc_to_* field: a column name or template (text), a constant index, or a list. */
  field(name: string, allowList: boolean): FieldSource | undefined {
    const value = this.raw(name)
    if (value === undefined) return undefined
    if (typeof value === 'string') return value
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value
    if (allowList && Array.isArray(value)) return value
    if (allowList && isMapping(value)) return Object.values(value)
    return this.fail(
      name,
      `must be a column name or a Jinja template${allowList ? ', a list' : ''} or a whole number, got ${describe(value)}`
    )
  }
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)
  return `${typeof value} ${String(value)}`
}

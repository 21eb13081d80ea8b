/**
 * Reading what a source row holds: the error a row that cannot be normalised throws (the importer
 * reports it with the file and line), and the loose values rows bring, such as JSON written as
 * text in a CSV cell or a Parquet string.
 */

export class RowError extends Error {
  override name = 'RowError'
}

export function fail(reason: string): never {
  throw new RowError(reason)
}

/** A value as an error message names it: short strings quoted, anything else by its kind. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'nothing'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return value.length > 40 ? 'a string' : JSON.stringify(value)
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${String(value)}`
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** CSV cells and Parquet strings may hold JSON: lists and objects are parsed where one is expected. */
export function jsonValue(value: unknown): unknown {
  if (typeof value !== 'string') return value
  const text = value.trim()
  if (!(text.startsWith('[') || text.startsWith('{'))) return value
  try {
    return JSON.parse(text)
  } catch {
    return value
  }
}

/** Text from a scalar cell; anything else is not text. */
export function text(value: unknown, where: string): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return fail(`${where} must be text, got ${describeValue(value)}`)
}

/** What of a source object (a message or a row) is not consumed: kept as metadata, or undefined when nothing is left. */
export function unconsumedEntries(
  value: Record<string, unknown>,
  consumed: ReadonlySet<string>
): Record<string, unknown> | undefined {
  const kept = Object.entries(value).filter(([key, v]) => !consumed.has(key) && v !== undefined)
  return kept.length > 0 ? Object.fromEntries(kept) : undefined
}

/**
 * An unpaired preference label as files hold it: a boolean (TRL, LLaMA-Factory), "true"/"false" in
 * any case, 1/0 or "1"/"0" (CSV and Parquet cells); null when the value is none of these.
 */
export function preferenceLabelValue(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value
  if (value === 1 || value === 0) return value === 1
  const word = typeof value === 'string' ? value.trim().toLowerCase() : undefined
  if (word === 'true' || word === '1') return true
  if (word === 'false' || word === '0') return false
  return null
}

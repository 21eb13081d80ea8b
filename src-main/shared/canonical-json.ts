import { hash } from 'node:crypto'

/**
 * JSON with object keys sorted at every level and no whitespace, so that equal values always give
 * equal text (and therefore equal hashes) whatever order their keys were written in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeysDeep(value))
}

function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep)
  if (value === null || typeof value !== 'object') return value
  const sorted: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) {
    sorted[key] = sortKeysDeep((value as Record<string, unknown>)[key])
  }
  return sorted
}

export function sha256Hex(text: string): string {
  // The one-shot form skips a Hash object per call: several times faster on short texts.
  return hash('sha256', text, 'hex')
}

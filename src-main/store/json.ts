/** Parsers for the JSON columns. The store only ever writes these columns itself, so bad JSON is a bug. */
export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  const value: unknown = JSON.parse(text)
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`store: ${what} must hold a JSON object, got ${text.slice(0, 80)}`)
  }
  return value as Record<string, unknown>
}

export function parseNumberRecord(text: string, what: string): Record<string, number> {
  return parseJsonObject(text, what) as Record<string, number>
}

export function parseStringArray(text: string, what: string): string[] {
  const value: unknown = JSON.parse(text)
  if (!Array.isArray(value))
    throw new Error(`store: ${what} must hold a JSON array, got ${text.slice(0, 80)}`)
  return value as string[]
}

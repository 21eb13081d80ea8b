/** 260_000 → "260K", 1_100_000_000 → "1.1B": how model sizes are spoken of. */
export function formatParameterCount(count: number): string {
  const units: [number, string][] = [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K']
  ]
  for (const [size, suffix] of units) {
    if (count >= size) return `${Number((count / size).toPrecision(3))}${suffix}`
  }
  return String(count)
}

export function formatDateTime(iso: string | null): string {
  if (!iso) return '—'
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString()
}

/** Enough of a content hash to tell versions apart at a glance; the full hash is in the title. */
export function shortHash(hash: string): string {
  return hash.slice(0, 12)
}

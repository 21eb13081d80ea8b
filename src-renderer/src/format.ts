/**
 * A number as the app shows it everywhere: whole numbers in full with thousands separators
 * (7,473), others to 4 significant digits without trailing zeros (3.998), tiny ones in exponent
 * form, as learning rates are written (0.00019953 → "1.995e-4").
 */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value)
  if (Number.isInteger(value)) return value.toLocaleString('en-US')
  const rounded = Number(value.toPrecision(4))
  if (rounded !== 0 && Math.abs(rounded) < 1e-3) return rounded.toExponential()
  return rounded.toLocaleString('en-US', { maximumFractionDigits: 20 })
}

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

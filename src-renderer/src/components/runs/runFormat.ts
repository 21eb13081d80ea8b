import { formatNumber } from '../../format'

/** 75 → "1m 15s", 3720 → "1h 2m": how long a run took or has left. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—'
  const whole = Math.round(seconds)
  const hours = Math.floor(whole / 3600)
  const minutes = Math.floor((whole % 3600) / 60)
  const rest = whole % 60
  if (hours > 0) return `${hours}h ${minutes}m`
  if (minutes > 0) return `${minutes}m ${rest}s`
  return `${rest}s`
}

/** 1536 → "1.5 KiB": memory sizes in binary units, three significant digits. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value : Number(value.toPrecision(3))} ${units[unit]}`
}

/** A config value in a table cell: strings as they are, numbers formatted, lists comma-separated, the rest as JSON. */
export function formatSetting(value: unknown): string {
  if (value === null || value === undefined) return '—'
  if (typeof value === 'string') return value
  if (typeof value === 'number') return formatNumber(value)
  if (Array.isArray(value)) return value.map(formatSetting).join(', ')
  return JSON.stringify(value)
}

/** 0.0082 → "8.2 ms/step", 1.5 → "1.5 s/step". */
export function formatStepTime(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—'
  return seconds < 1
    ? `${Number((seconds * 1000).toPrecision(2))} ms/step`
    : `${Number(seconds.toPrecision(2))} s/step`
}

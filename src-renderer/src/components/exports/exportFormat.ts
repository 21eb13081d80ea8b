/** How the exports panel words an export's size and kind. */
import type { ExportRecord } from '../../../../src-preload/contract'

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB']

/** Bytes in decimal units, three significant digits: "1.05 MB". */
export function formatBytes(bytes: number): string {
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value.toPrecision(3)} ${UNITS[unit]}`
}

/** "GGUF Q8_0", "HF float16", "PEFT adapter", "JSONL messages". */
export function exportKind(record: ExportRecord): string {
  if (record.format === 'peft') return 'PEFT adapter'
  return `${record.format === 'hf' ? 'HF' : record.format.toUpperCase()} ${record.variant}`
}

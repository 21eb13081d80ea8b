/** A plain text table: one header row, columns padded to their widest cell. */
export function formatTable<T>(rows: T[], columns: { header: string; value: (row: T) => unknown }[]): string {
  const cells = rows.map((row) => columns.map((c) => String(c.value(row) ?? '')))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i].length)))
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd()
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n')
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`
  return String(n)
}

export interface MarkdownColumn {
  header: string
  align: 'left' | 'right'
}

/**
 * A Markdown table laid out as lm-evaluation-harness prints its results (so its readers find
 * theirs): headers centred, cells padded to the widest, numeric columns right-aligned.
 */
export function formatMarkdownTable(columns: MarkdownColumn[], rows: string[][]): string {
  const widths = columns.map((c, i) => Math.max(3, c.header.length, ...rows.map((r) => r[i].length)))
  const centred = (text: string, width: number) => {
    const left = Math.floor((width - text.length) / 2)
    return ' '.repeat(left) + text.padEnd(width - left)
  }
  const line = (cells: string[]) => `|${cells.join('|')}|`
  return [
    line(columns.map((c, i) => centred(c.header, widths[i]))),
    line(
      columns.map((c, i) => (c.align === 'right' ? `${'-'.repeat(widths[i] - 1)}:` : '-'.repeat(widths[i])))
    ),
    ...rows.map((row) =>
      line(
        row.map((cell, i) =>
          columns[i].align === 'right' ? cell.padStart(widths[i]) : cell.padEnd(widths[i])
        )
      )
    )
  ].join('\n')
}

/** `[#####.........]`: the share done of a task, `width` characters wide. */
export function progressBar(done: number, total: number, width = 30): string {
  const filled = Math.min(width, Math.round((width * done) / Math.max(1, total)))
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`
}

/**
 * Job output as JSON lines: a job kind that streams records writes one JSON value per line
 * (`ctx.output(JSON.stringify(value) + '\n')`), and its submitter reads them back whole, however
 * the pipe cut the text into pieces.
 */

/** An onOutput handler that calls `onValue` with each complete line's value, in order; blank lines are skipped. */
export function jsonLinesReader<T>(onValue: (value: T) => void): (text: string) => void {
  let buffer = ''
  return (text) => {
    buffer += text
    let newline: number
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline)
      buffer = buffer.slice(newline + 1)
      if (line.trim() !== '') onValue(JSON.parse(line) as T)
    }
  }
}

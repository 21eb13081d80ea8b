/**
 * A streaming CSV parser after RFC 4180: fields separated by a delimiter, records by CRLF or LF,
 * fields optionally in double quotes, inside which delimiters and line breaks are data and `""`
 * is one quote. Also accepted, as spreadsheets write them: a bare CR line end, a UTF-8 byte-order
 * mark, and a last record without a line break.
 *
 * Text goes in chunk by chunk (`push`), records come out as soon as they are complete, so memory
 * stays flat in the file's size. Each record knows the line it starts on. A malformed record
 * comes out as an error (with its line) and parsing goes on at the next line.
 */

export type CsvRecord = { line: number; fields: string[] } | { line: number; error: string }

const QUOTE = 34
const CR = 13
const LF = 10

type State = 'fieldStart' | 'unquoted' | 'quoted' | 'quoteInQuoted' | 'afterCr' | 'skipLine'

export class CsvParser {
  private readonly delimiter: number
  private state: State = 'fieldStart'
  private field = ''
  private fields: string[] = []
  /** The line the parser is on (1-based). */
  private line = 1
  private recordLine = 1
  private inRecord = false
  private firstChunk = true
  /** Inside a quoted field: whether the last character was a CR. */
  private quotedCr = false
  /** Characters pushed before the current chunk, and where the current line starts among them. */
  private consumed = 0
  private lineStart = 0
  /** Where the open quoted field's quote is (1-based line and column), for an unbalanced quote. */
  private quoteLine = 0
  private quoteColumn = 0

  constructor(delimiter = ',') {
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
      throw new Error(`CsvParser: the delimiter must be one character other than a quote or line break`)
    }
    this.delimiter = delimiter.charCodeAt(0)
  }

  /** Parses the next piece of text and returns the records it completed. */
  push(text: string): CsvRecord[] {
    const records: CsvRecord[] = []
    let i = 0
    if (this.firstChunk && text.length > 0) {
      this.firstChunk = false
      if (text.charCodeAt(0) === 0xfeff) i = this.lineStart = 1
    }
    // Runs of plain characters are sliced at once rather than appended one by one.
    let runStart = -1
    const flushRun = (end: number) => {
      if (runStart >= 0) this.field += text.slice(runStart, end)
      runStart = -1
    }
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (this.state === 'afterCr') {
        this.state = 'fieldStart'
        if (c === LF) {
          this.lineStart = this.consumed + i + 1
          continue
        }
      }
      switch (this.state) {
        case 'skipLine':
          if (c === LF || c === CR) this.endLine(c, i)
          break
        case 'fieldStart':
          if (!this.inRecord) {
            this.inRecord = true
            this.recordLine = this.line
          }
          if (c === QUOTE) {
            this.state = 'quoted'
            this.quotedCr = false
            this.quoteLine = this.line
            this.quoteColumn = this.consumed + i - this.lineStart + 1
          } else if (c === this.delimiter) this.endField()
          else if (c === LF || c === CR) this.endRecord(records, c, i)
          else {
            this.state = 'unquoted'
            runStart = i
          }
          break
        case 'unquoted':
          if (c === this.delimiter) {
            flushRun(i)
            this.endField()
            this.state = 'fieldStart'
          } else if (c === LF || c === CR) {
            flushRun(i)
            this.endRecord(records, c, i)
          } else if (c === QUOTE) {
            runStart = -1
            this.fail(
              records,
              'a quote inside an unquoted field (quote the whole field and double the quote)'
            )
          } else if (runStart < 0) {
            runStart = i
          }
          break
        case 'quoted':
          if (c === QUOTE) {
            flushRun(i)
            this.state = 'quoteInQuoted'
          } else {
            // CRLF counts once, even when a chunk ends between the two.
            if (c === CR || (c === LF && !this.quotedCr)) this.line++
            if (c === CR || c === LF) this.lineStart = this.consumed + i + 1
            this.quotedCr = c === CR
            if (runStart < 0) runStart = i
          }
          break
        case 'quoteInQuoted':
          if (c === QUOTE) {
            this.field += '"'
            this.state = 'quoted'
          } else if (c === this.delimiter) {
            this.endField()
            this.state = 'fieldStart'
          } else if (c === LF || c === CR) {
            this.endRecord(records, c, i)
          } else {
            this.fail(records, 'text after the closing quote of a field')
          }
          break
      }
    }
    flushRun(text.length)
    this.consumed += text.length
    return records
  }

  /** Ends the input: the last record, if the text did not end with a line break. */
  end(): CsvRecord[] {
    const records: CsvRecord[] = []
    if (this.state === 'quoted') {
      records.push({
        line: this.recordLine,
        error: `the quote opened at line ${this.quoteLine}, column ${this.quoteColumn} is never closed (the rest of the file would be one field)`
      })
    } else if (this.inRecord && this.state !== 'skipLine') {
      this.endField()
      records.push({ line: this.recordLine, fields: this.fields })
    }
    this.fields = []
    this.field = ''
    this.inRecord = false
    this.state = 'fieldStart'
    return records
  }

  private endField(): void {
    this.fields.push(this.field)
    this.field = ''
  }

  /** Ends the record at the line break at `at` in the current chunk. */
  private endRecord(records: CsvRecord[], lineBreak: number, at: number): void {
    this.endField()
    records.push({ line: this.recordLine, fields: this.fields })
    this.fields = []
    this.endLine(lineBreak, at)
  }

  private endLine(lineBreak: number, at: number): void {
    this.inRecord = false
    this.line++
    this.lineStart = this.consumed + at + 1
    this.state = lineBreak === CR ? 'afterCr' : 'fieldStart'
  }

  private fail(records: CsvRecord[], reason: string): void {
    records.push({ line: this.recordLine, error: reason })
    this.fields = []
    this.field = ''
    this.state = 'skipLine'
  }
}

/** The delimiter a file's name suggests: tab for .tsv, else comma. */
export function delimiterFor(file: string): string {
  return /\.tsv$/i.test(file) ? '\t' : ','
}

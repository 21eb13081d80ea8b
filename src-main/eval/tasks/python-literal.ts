/**
 * Python literals, as `ast.literal_eval` reads them: lm-eval renders `doc_to_choice` templates and
 * list-looking `doc_to_target` templates to text and reads that text back as a Python value. We do
 * the same, and since our renderer writes lists JSON-style (double quotes) and Python writes them
 * with single quotes, both spellings are read.
 *
 * Supported: strings ('…', "…", with Python's escapes, adjacent strings joined, r/u prefixes),
 * decimal integers and floats (with a sign), True / False / None, lists, tuples and dicts of these.
 */

export type PythonValue = string | number | boolean | null | PythonValue[] | { [key: string]: PythonValue }

export class PythonLiteralError extends Error {
  constructor(text: string, at: number, reason: string) {
    super(`not a Python literal (${reason} at character ${at + 1} of ${JSON.stringify(text.slice(0, 80))})`)
    this.name = 'PythonLiteralError'
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\n': '',
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v'
}

class Reader {
  private at = 0

  constructor(private readonly text: string) {}

  readAll(): PythonValue {
    const value = this.value()
    this.space()
    if (this.at < this.text.length) this.fail('unexpected text after the value')
    return value
  }

  private fail(reason: string): never {
    throw new PythonLiteralError(this.text, this.at, reason)
  }

  private space(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at])) this.at++
  }

  private value(): PythonValue {
    this.space()
    const c = this.text[this.at]
    if (c === undefined) this.fail('unexpected end')
    if (c === '[') return this.sequence(']')
    if (c === '(') return this.tuple()
    if (c === '{') return this.dict()
    if (/[-+0-9.]/.test(c)) return this.number()
    if (/[rRuU'"]/.test(c)) return this.strings()
    const word = /^[A-Za-z_]\w*/.exec(this.text.slice(this.at))?.[0]
    if (word === 'True' || word === 'False' || word === 'None') {
      this.at += word.length
      return word === 'True' ? true : word === 'False' ? false : null
    }
    return this.fail(`unexpected ${JSON.stringify(c)}`)
  }

  private sequence(close: string): PythonValue[] {
    this.at++
    const items: PythonValue[] = []
    for (;;) {
      this.space()
      if (this.text[this.at] === close) {
        this.at++
        return items
      }
      items.push(this.value())
      this.space()
      if (this.text[this.at] === ',') this.at++
      else if (this.text[this.at] !== close) this.fail(`expected "," or "${close}"`)
    }
  }

  /** `(x)` is x itself; `(x,)` and `(x, y)` are tuples (read as lists). */
  private tuple(): PythonValue {
    const start = this.at
    const items = this.sequence(')')
    const inner = this.text.slice(start + 1, this.at - 1).trim()
    return items.length === 1 && !inner.endsWith(',') ? items[0] : items
  }

  private dict(): { [key: string]: PythonValue } {
    this.at++
    const entries: { [key: string]: PythonValue } = {}
    for (;;) {
      this.space()
      if (this.text[this.at] === '}') {
        this.at++
        return entries
      }
      const key = this.value()
      if (typeof key !== 'string' && typeof key !== 'number')
        this.fail('a dict key must be a string or a number')
      this.space()
      if (this.text[this.at] !== ':') this.fail('expected ":"')
      this.at++
      entries[String(key)] = this.value()
      this.space()
      if (this.text[this.at] === ',') this.at++
      else if (this.text[this.at] !== '}') this.fail('expected "," or "}"')
    }
  }

  private number(): number {
    const match = /^[-+]?\s*(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][-+]?\d+)?/.exec(
      this.text.slice(this.at)
    )
    if (!match) this.fail('expected a number')
    this.at += match[0].length
    const value = Number(match[0].replace(/[\s_]/g, ''))
    if (!Number.isFinite(value)) this.fail(`${JSON.stringify(match[0])} is not a finite number`)
    return value
  }

  /** One string literal, or several adjacent ones joined ('a' 'b' is 'ab'). */
  private strings(): string {
    let result = this.string()
    for (;;) {
      const before = this.at
      this.space()
      if (!/[rRuU'"]/.test(this.text[this.at] ?? '')) {
        this.at = before
        return result
      }
      result += this.string()
    }
  }

  private string(): string {
    let raw = false
    while (/[rRuU]/.test(this.text[this.at] ?? '')) {
      if (/[rR]/.test(this.text[this.at])) raw = true
      this.at++
    }
    const quote = this.text[this.at]
    if (quote !== "'" && quote !== '"') this.fail('expected a quote')
    const triple = this.text.startsWith(quote.repeat(3), this.at)
    const close = triple ? quote.repeat(3) : quote
    this.at += close.length
    let result = ''
    for (;;) {
      if (this.at >= this.text.length) this.fail('unterminated string')
      if (this.text.startsWith(close, this.at)) {
        this.at += close.length
        return result
      }
      const c = this.text[this.at]
      if (c === '\n' && !triple) this.fail('line break inside a string')
      if (c !== '\\') {
        result += c
        this.at++
      } else if (raw) {
        result += this.text.slice(this.at, this.at + 2)
        this.at += 2
      } else {
        result += this.escape()
      }
    }
  }

  private escape(): string {
    const c = this.text[this.at + 1]
    if (c === undefined) this.fail('unterminated string')
    if (c in SIMPLE_ESCAPES) {
      this.at += 2
      return SIMPLE_ESCAPES[c]
    }
    const hexLength = c === 'x' ? 2 : c === 'u' ? 4 : c === 'U' ? 8 : 0
    if (hexLength > 0) {
      const hex = this.text.slice(this.at + 2, this.at + 2 + hexLength)
      if (!new RegExp(`^[0-9a-fA-F]{${hexLength}}$`).test(hex)) this.fail(`bad \\${c} escape`)
      this.at += 2 + hexLength
      return String.fromCodePoint(Number.parseInt(hex, 16))
    }
    const octal = /^[0-7]{1,3}/.exec(this.text.slice(this.at + 1))?.[0]
    if (octal) {
      this.at += 1 + octal.length
      return String.fromCodePoint(Number.parseInt(octal, 8))
    }
    // Python keeps an unknown escape as written, backslash included.
    this.at += 2
    return `\\${c}`
  }
}

/** The value of a Python literal; throws PythonLiteralError when the text is not one. */
export function parsePythonLiteral(text: string): PythonValue {
  return new Reader(text).readAll()
}

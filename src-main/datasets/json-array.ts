/**
 * Splits a JSON array of rows (`[ {...}, {...} ]`, as Alpaca and ShareGPT files ship) into the text
 * of its items without parsing the whole document, so a file of any size is read in chunks with
 * flat memory. Each item is then parsed on its own (JSON.parse), and a broken item is reported
 * with the line it starts on. Only the array's structure is checked here: brackets, braces and
 * strings are tracked so that commas inside items do not split them.
 */

export interface JsonArrayItem {
  /** 1-based line on which the item starts. */
  line: number
  text: string
}

/** The document is not a JSON array; nothing after this point can be read. */
export class JsonArrayStructureError extends Error {
  constructor(
    readonly line: number,
    reason: string
  ) {
    super(reason)
    this.name = 'JsonArrayStructureError'
  }
}

const LF = 10
const QUOTE = 34
const BACKSLASH = 92
const COMMA = 44
const OPEN_BRACKET = 91
const CLOSE_BRACKET = 93
const OPEN_BRACE = 123
const CLOSE_BRACE = 125

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 0xfeff
}

type State = 'beforeArray' | 'beforeItem' | 'inItem' | 'afterItem' | 'afterArray'

export class JsonArraySplitter {
  private state: State = 'beforeArray'
  private line = 1
  private depth = 0
  private inString = false
  private escaped = false
  private pieces: string[] = []
  private itemLine = 0
  private items = 0

  /** Returns the items this chunk completed; throws JsonArrayStructureError if it is no array. */
  push(text: string): JsonArrayItem[] {
    const out: JsonArrayItem[] = []
    let itemStart = this.state === 'inItem' ? 0 : -1
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c === LF) this.line++
      switch (this.state) {
        case 'beforeArray':
          if (isSpace(c)) break
          if (c !== OPEN_BRACKET)
            this.fail(`expected a JSON array of rows ("["), got ${JSON.stringify(text[i])}`)
          this.state = 'beforeItem'
          break
        case 'beforeItem':
          if (isSpace(c)) break
          if (c === CLOSE_BRACKET && this.items === 0) {
            this.state = 'afterArray'
            break
          }
          if (c === CLOSE_BRACKET || c === COMMA)
            this.fail(`expected an array item, got ${JSON.stringify(text[i])}`)
          this.state = 'inItem'
          this.itemLine = this.line
          this.depth = 0
          itemStart = i
          i = this.scanItem(text, i, out, itemStart) - 1
          if (this.state !== 'inItem') itemStart = -1
          break
        case 'inItem':
          i = this.scanItem(text, i, out, itemStart) - 1
          if (this.state !== 'inItem') itemStart = -1
          break
        case 'afterItem':
          if (isSpace(c)) break
          if (c === COMMA) this.state = 'beforeItem'
          else if (c === CLOSE_BRACKET) this.state = 'afterArray'
          else this.fail(`expected "," or "]" after an array item, got ${JSON.stringify(text[i])}`)
          break
        case 'afterArray':
          if (!isSpace(c)) this.fail(`text after the end of the array: ${JSON.stringify(text[i])}`)
          break
      }
    }
    if (this.state === 'inItem' && itemStart >= 0) this.pieces.push(text.slice(itemStart))
    return out
  }

  /** Checks that the array was closed. */
  end(): void {
    if (this.state === 'beforeArray') this.fail('the file is empty; expected a JSON array of rows')
    if (this.state !== 'afterArray') {
      this.fail(`the array is not closed: the item starting on line ${this.itemLine || this.line} is cut off`)
    }
  }

  /**
   * Scans item text from `from` until the item ends (a top-level "," or "]") or the chunk does;
   * returns the index where scanning stopped (the ending character is left for the caller).
   */
  private scanItem(text: string, from: number, out: JsonArrayItem[], itemStart: number): number {
    for (let i = from; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (i > from && c === LF) this.line++
      if (this.inString) {
        if (this.escaped) this.escaped = false
        else if (c === BACKSLASH) this.escaped = true
        else if (c === QUOTE) this.inString = false
        continue
      }
      if (c === QUOTE) this.inString = true
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++
      else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && this.depth > 0) this.depth--
      else if (this.depth === 0 && (c === COMMA || c === CLOSE_BRACKET)) {
        this.pieces.push(text.slice(itemStart, i))
        out.push({ line: this.itemLine, text: this.pieces.join('') })
        this.pieces = []
        this.items++
        this.state = c === COMMA ? 'beforeItem' : 'afterArray'
        return i + 1
      }
    }
    return text.length
  }

  private fail(reason: string): never {
    throw new JsonArrayStructureError(this.line, reason)
  }
}

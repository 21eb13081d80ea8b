/**
 * Finding the bytes of a text file that are not UTF-8. The reader decodes with a TextDecoder that
 * puts U+FFFD in their place; this says where that happened, so the import can tell the user
 * rather than change their text without a word. Valid chunks, nearly all of them, cost one
 * Buffer.isUtf8 call and a count of their line breaks; only a chunk that fails is walked byte by
 * byte (after RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
 */
import { isUtf8 } from 'node:buffer'

const LF = 0x0a

/** How many bytes a sequence starting with this lead byte has (0: not a lead byte). */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1
  if (lead >= 0xc2 && lead <= 0xdf) return 2
  if (lead >= 0xe0 && lead <= 0xef) return 3
  if (lead >= 0xf0 && lead <= 0xf4) return 4
  return 0
}

/** The range the byte after a lead byte must be in (narrower than 0x80–0xBF after E0, ED, F0, F4). */
function secondByteRange(lead: number): [number, number] {
  if (lead === 0xe0) return [0xa0, 0xbf]
  if (lead === 0xed) return [0x80, 0x9f]
  if (lead === 0xf0) return [0x90, 0xbf]
  if (lead === 0xf4) return [0x80, 0x8f]
  return [0x80, 0xbf]
}

/**
 * Bytes in the valid sequence starting at `at`, or 0 when it is invalid. An invalid sequence is
 * counted once however many of its bytes follow, as the decoder replaces it with one U+FFFD.
 */
function validSequenceAt(bytes: Uint8Array, at: number): number {
  const length = sequenceLength(bytes[at])
  if (length === 0 || at + length > bytes.length) return 0
  for (let i = 1; i < length; i++) {
    const [low, high] = i === 1 ? secondByteRange(bytes[at]) : [0x80, 0xbf]
    if (bytes[at + i] < low || bytes[at + i] > high) return 0
  }
  return length
}

/** Continuation bytes that follow an invalid lead and belong to its one replacement. */
function invalidSequenceLength(bytes: Uint8Array, at: number): number {
  const length = Math.max(sequenceLength(bytes[at]), 1)
  let end = at + 1
  const [low, high] = secondByteRange(bytes[at])
  if (length > 1 && end < bytes.length && bytes[end] >= low && bytes[end] <= high) {
    end++
    while (end < at + length && end < bytes.length && bytes[end] >= 0x80 && bytes[end] <= 0xbf) end++
  }
  return end - at
}

/** Where a chunk may be cut without splitting a sequence: before a lead byte whose sequence runs past the end. */
function completeLength(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back]
    if (byte < 0x80) return bytes.length
    if (byte >= 0xc0) return sequenceLength(byte) > back ? bytes.length - back : bytes.length
  }
  return bytes.length
}

function countLineBreaks(bytes: Buffer): number {
  let count = 0
  for (let at = bytes.indexOf(LF); at >= 0; at = bytes.indexOf(LF, at + 1)) count++
  return count
}

/** Invalid UTF-8 found in a stretch of a file: how many sequences (Parquet: values), on which lines (rows). */
export interface InvalidUtf8 {
  count: number
  /** 1-based, ascending, each once. */
  lines: number[]
}

/** Feeds a file's bytes chunk by chunk; finds every invalid UTF-8 sequence and its line. */
export class Utf8Checker {
  /** The start of a sequence the last chunk cut off. */
  private carry: Buffer = Buffer.alloc(0)
  /** The 1-based line the next byte is on. */
  private line = 1

  /** Checks the next chunk (`last`: the file ends after it). */
  push(chunk: Buffer, last: boolean): InvalidUtf8 {
    const bytes = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk
    const end = last ? bytes.length : completeLength(bytes)
    this.carry = Buffer.from(bytes.subarray(end))
    const complete = bytes.subarray(0, end)
    if (isUtf8(complete)) {
      this.line += countLineBreaks(complete)
      return { count: 0, lines: [] }
    }
    return this.walk(complete)
  }

  private walk(bytes: Buffer): InvalidUtf8 {
    const found: InvalidUtf8 = { count: 0, lines: [] }
    for (let at = 0; at < bytes.length;) {
      if (bytes[at] === LF) this.line++
      const valid = validSequenceAt(bytes, at)
      if (valid > 0) {
        at += valid
        continue
      }
      found.count++
      if (found.lines[found.lines.length - 1] !== this.line) found.lines.push(this.line)
      at += invalidSequenceLength(bytes, at)
    }
    return found
  }
}

/** Lines an invalid-UTF-8 warning lists; it counts the rest. */
const LISTED_LINES = 10

/** Invalid UTF-8 of a whole read, added up stretch by stretch, and the warning that tells the user. */
export class InvalidUtf8Tally {
  private count = 0
  private lineCount = 0
  private readonly lines: number[] = []
  private lastLine = 0

  add(found: InvalidUtf8): void {
    this.count += found.count
    for (const line of found.lines) {
      // A line cut between two chunks is reported by both.
      if (line === this.lastLine) continue
      this.lastLine = line
      this.lineCount++
      if (this.lines.length < LISTED_LINES) this.lines.push(line)
    }
  }

  /** What to tell the user about `fileName`, whose `unit` is lines (text) or rows (Parquet); null when all was UTF-8. */
  warning(fileName: string, unit: 'line' | 'row'): string | null {
    if (this.lineCount === 0) return null
    const more = this.lineCount - this.lines.length
    const where =
      this.lineCount === 1
        ? `${unit} ${this.lines[0]}`
        : `${this.lineCount} ${unit}s (${this.lines.join(', ')}${more > 0 ? ` and ${more} more` : ''})`
    // A text file's sequences are counted; a Parquet value's bytes are checked whole.
    const what =
      unit === 'line'
        ? `${this.count} invalid UTF-8 sequence${this.count === 1 ? '' : 's'} on ${where}`
        : `text that is not UTF-8 in ${where}`
    return (
      `${fileName}: ${what} ${unit === 'line' && this.count > 1 ? 'were' : 'was'} read as U+FFFD (\uFFFD); ` +
      'to keep the original characters, save the file as UTF-8 and import it again'
    )
  }
}

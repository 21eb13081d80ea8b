/**
 * Generated tokens → text pieces for streaming, with stop strings.
 *
 * Text is decoded from all generated ids each time, since a token's text depends on its
 * neighbours (a leading space dropped at the start, UTF-8 bytes split over byte-fallback tokens).
 * A piece is released only once it can no longer change: text ending in an incomplete character
 * (U+FFFD) waits for the next token, and so does a tail that could still grow into a stop string.
 */

export interface TextDecoder {
  decode(ids: readonly number[]): string
}

export interface StreamStep {
  /** Newly released text (may be ''). */
  piece: string
  /** A stop string appeared: the text ends just before it and generation should stop. */
  stopped: boolean
}

const REPLACEMENT_CHARACTER = '\uFFFD'

export class TextStream {
  private readonly ids: number[] = []
  private released = ''
  private finished = false

  constructor(
    private readonly tokenizer: TextDecoder,
    private readonly stopStrings: readonly string[] = []
  ) {
    if (stopStrings.some((stop) => stop === ''))
      throw new Error('TextStream: a stop string must not be empty')
  }

  /** The text released so far. */
  get text(): string {
    return this.released
  }

  push(id: number): StreamStep {
    if (this.finished) throw new Error('TextStream.push: the stream already stopped')
    this.ids.push(id)
    const full = this.tokenizer.decode(this.ids)
    const stopAt = this.firstStop(full)
    if (stopAt !== null) {
      this.finished = true
      return { piece: this.release(full.slice(0, stopAt)), stopped: true }
    }
    let safe = full.length - this.heldForStops(full)
    if (full.endsWith(REPLACEMENT_CHARACTER)) safe = Math.min(safe, full.length - 1)
    return { piece: this.release(full.slice(0, safe)), stopped: false }
  }

  /** Releases what is left (at the end of generation). */
  flush(): string {
    if (this.finished) return ''
    this.finished = true
    return this.release(this.tokenizer.decode(this.ids))
  }

  private release(upTo: string): string {
    // Earlier text never changes in practice; if a decoder ever rewrote it, keep what was sent.
    if (upTo.length <= this.released.length || !upTo.startsWith(this.released)) return ''
    const piece = upTo.slice(this.released.length)
    this.released = upTo
    return piece
  }

  /** Where the earliest stop string starts in `full` (searching only text not yet released), or null. */
  private firstStop(full: string): number | null {
    let first: number | null = null
    for (const stop of this.stopStrings) {
      const from = Math.max(0, this.released.length - stop.length + 1)
      const at = full.indexOf(stop, from)
      if (at >= 0 && (first === null || at < first)) first = at
    }
    return first
  }

  /** Length of the longest tail of `full` that is a proper prefix of some stop string. */
  private heldForStops(full: string): number {
    let held = 0
    for (const stop of this.stopStrings) {
      for (let length = Math.min(stop.length - 1, full.length); length > held; length--) {
        if (full.endsWith(stop.slice(0, length))) {
          held = length
          break
        }
      }
    }
    return held
  }
}

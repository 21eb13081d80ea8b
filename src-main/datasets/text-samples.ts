/**
 * A plain text file cut into samples for continued pre-training, as Hugging Face datasets' text
 * loader does with `sample_by`:
 *
 *   line       every line that is not blank, as it is
 *   paragraph  runs of lines between blank lines, their inner line breaks kept (written \n)
 *   document   the whole file as one sample (at most MAX_DOCUMENT_BYTES), without the blank lines
 *              at its start and end
 *
 * A line holding only whitespace counts as blank; line breaks are written \n (a \r\n file's too). The text comes in chunks (the file is streamed);
 * only the line or paragraph being read is held, so memory stays flat except for 'document'.
 */
import type { TextSampleUnit } from '../../src-preload/contract'

/** The largest file read whole as one sample: past it, one sample is no longer something to train on. */
export const MAX_DOCUMENT_BYTES = 64 << 20

export interface TextSample {
  /** The 1-based line the sample starts on. */
  line: number
  text: string
}

const isBlank = (line: string) => line.trim() === ''

export class TextSampleCutter {
  /** The end of the text read so far that is not a whole line yet. */
  private pending = ''
  /** The 1-based number of the next whole line. */
  private line = 1
  private paragraph: string[] = []
  private paragraphStart = 0
  private document: string[] = []
  private documentStart = 0

  constructor(private readonly unit: TextSampleUnit) {}

  /** The samples completed by the next stretch of text. */
  push(text: string): TextSample[] {
    const samples: TextSample[] = []
    this.pending += text
    let start = 0
    for (let end = this.pending.indexOf('\n'); end >= 0; end = this.pending.indexOf('\n', start)) {
      this.takeLine(this.pending.slice(start, end), samples)
      start = end + 1
    }
    this.pending = this.pending.slice(start)
    return samples
  }

  /** The samples the end of the file completes. */
  end(): TextSample[] {
    const samples: TextSample[] = []
    if (this.pending !== '') this.takeLine(this.pending, samples)
    this.pending = ''
    this.endParagraph(samples)
    while (this.document.length > 0 && isBlank(this.document[this.document.length - 1])) this.document.pop()
    if (this.document.length > 0) {
      samples.push({ line: this.documentStart, text: this.document.join('\n') })
      this.document = []
    }
    return samples
  }

  private takeLine(raw: string, samples: TextSample[]): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    const number = this.line++
    if (this.unit === 'document') {
      if (this.document.length === 0 && isBlank(line)) return
      if (this.document.length === 0) this.documentStart = number
      this.document.push(line)
    } else if (isBlank(line)) {
      this.endParagraph(samples)
    } else if (this.unit === 'line') {
      samples.push({ line: number, text: line })
    } else {
      if (this.paragraph.length === 0) this.paragraphStart = number
      this.paragraph.push(line)
    }
  }

  private endParagraph(samples: TextSample[]): void {
    if (this.paragraph.length === 0) return
    samples.push({ line: this.paragraphStart, text: this.paragraph.join('\n') })
    this.paragraph = []
  }
}

import { closeSync, openSync, readSync } from 'node:fs'

export interface NumberedLine {
  /** 1-based, as editors show it. */
  line: number
  text: string
}

const CHUNK_BYTES = 1 << 20

/**
 * The lines of a text file, read in 1 MiB chunks so memory stays flat whatever the file's size.
 * Synchronous on purpose: an import runs inside one SQLite transaction, which cannot span awaits.
 */
export function* readLinesSync(file: string): Generator<NumberedLine> {
  const fd = openSync(file, 'r')
  const buffer = Buffer.alloc(CHUNK_BYTES)
  const decoder = new TextDecoder('utf-8')
  let pending = ''
  let line = 0
  try {
    for (;;) {
      const read = readSync(fd, buffer, 0, CHUNK_BYTES, null)
      pending += decoder.decode(buffer.subarray(0, read), { stream: read > 0 })
      const parts = pending.split('\n')
      pending = read > 0 ? parts.pop()! : ''
      for (const part of parts) yield { line: ++line, text: part.replace(/\r$/, '') }
      if (read === 0) {
        if (pending !== '') yield { line: ++line, text: pending.replace(/\r$/, '') }
        return
      }
    }
  } finally {
    closeSync(fd)
  }
}

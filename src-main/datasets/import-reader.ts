/**
 * The reading half of an import: the file's records normalised, serialised and hashed, batch by
 * batch, ready to stage. It runs in a thread of its own (readInThread) so that parsing the next
 * batches overlaps with SQLite writing the last ones; import-writer.ts only writes.
 */
import { basename } from 'node:path'
import type { MessagePort } from 'node:worker_threads'
import type { Conversation, ImportFileType, ImportMapping, TextSampleUnit } from '../../src-preload/contract'
import { startThread } from '../jobs/worker-entry'
import { canonicalJson, sha256Hex } from '../shared/canonical-json'
import { mediaMessageCount } from './content-parts'
import { normaliseRow } from './normalise'
import { RowError } from './raw-values'
import { readRecords, SourceFileError, type ReadProgress } from './sources'
import type { InvalidUtf8 } from './utf8'

/** A row ready for the samples table. */
export interface StagedRow {
  json: string
  hash: string
  line: number
}

export interface ReadBatch {
  rows: StagedRow[]
  /** Rows that cannot be imported, with why. */
  bad: { line: number; reason: string }[]
  /** Text read in this batch that was not UTF-8 (the rows hold U+FFFD in its place). */
  invalidUtf8: InvalidUtf8
  /** Messages of this batch's rows that hold media parts (kept as metadata; see content-parts.ts). */
  mediaMessages: number
  progress: ReadProgress
}

export interface ReaderRequest {
  file: string
  fileType: ImportFileType
  mapping: ImportMapping
  /** How a plain text file is cut into samples (default: paragraph). */
  textUnit?: TextSampleUnit
}

/** A conversation as the samples table stores it: canonical JSON and its sha256. */
export function serialiseConversation(conversation: Conversation): { json: string; hash: string } {
  const json = canonicalJson(conversation)
  return { json, hash: sha256Hex(json) }
}

/** The file's batches, normalised in this thread. Every error names the file, and the line where it has one. */
export async function* normalisedBatches(request: ReaderRequest): AsyncGenerator<ReadBatch> {
  let progress: ReadProgress = { done: 0, total: 0 }
  let invalidUtf8: InvalidUtf8 = { count: 0, lines: [] }
  const records = readRecords(request.file, request.fileType, {
    textUnit: request.textUnit,
    onProgress: (p) => (progress = p),
    onInvalidUtf8: (found) => {
      invalidUtf8 = { count: invalidUtf8.count + found.count, lines: [...invalidUtf8.lines, ...found.lines] }
    }
  })
  try {
    for await (const batch of records) {
      const out: ReadBatch = { rows: [], bad: [], invalidUtf8, mediaMessages: 0, progress }
      invalidUtf8 = { count: 0, lines: [] }
      for (const record of batch) {
        if (!('row' in record)) {
          out.bad.push({ line: record.line, reason: record.error })
          continue
        }
        try {
          const conversation = normaliseRow(record.row, request.mapping)
          const { json, hash } = serialiseConversation(conversation)
          out.rows.push({ json, hash, line: record.line })
          out.mediaMessages += mediaMessageCount(conversation)
        } catch (error) {
          if (!(error instanceof RowError)) {
            throw new SourceFileError(request.file, record.line, (error as Error).message, { cause: error })
          }
          out.bad.push({ line: record.line, reason: error.message })
        }
      }
      out.progress = progress
      yield out
    }
  } catch (error) {
    if (error instanceof SourceFileError) throw error
    throw new SourceFileError(request.file, null, (error as Error).message, { cause: error })
  }
}

/** Batches the reader thread may run ahead of the writer: enough to keep both busy, and memory flat. */
export const READ_AHEAD_BATCHES = 4

/** Reader → importer messages. */
export type ReaderMessage =
  { type: 'batch'; batch: ReadBatch } | { type: 'end' } | { type: 'error'; message: string }

/**
 * The reader thread's loop: posts batches, never more than READ_AHEAD_BATCHES ahead of the
 * acknowledgements ("next") it gets back.
 */
export async function serveBatches(request: ReaderRequest, port: MessagePort): Promise<void> {
  let credit = READ_AHEAD_BATCHES
  let wake: (() => void) | null = null
  port.on('message', () => {
    credit++
    wake?.()
  })
  try {
    for await (const batch of normalisedBatches(request)) {
      while (credit === 0) await new Promise<void>((resolve) => (wake = resolve))
      wake = null
      credit--
      port.postMessage({ type: 'batch', batch } satisfies ReaderMessage)
    }
    port.postMessage({ type: 'end' } satisfies ReaderMessage)
  } catch (error) {
    port.postMessage({ type: 'error', message: (error as Error).message } satisfies ReaderMessage)
  }
}

/** The same batches as normalisedBatches, read and normalised by a thread of their own. */
export async function* readInThread(request: ReaderRequest): AsyncGenerator<ReadBatch> {
  const worker = startThread('import-reader', { workerData: request })
  const queue: ReaderMessage[] = []
  let wake: (() => void) | null = null
  let failure: Error | null = null
  worker.on('message', (message: ReaderMessage) => {
    queue.push(message)
    wake?.()
  })
  const fileName = basename(request.file)
  worker.on('error', (error) => {
    failure = new Error(`${fileName}: reading stopped (${error.message})`, { cause: error })
    wake?.()
  })
  worker.on('exit', (code) => {
    failure ??= new Error(`${fileName}: the reader thread exited (code ${code})`)
    wake?.()
  })
  try {
    for (;;) {
      while (queue.length === 0) {
        if (failure) throw failure
        await new Promise<void>((resolve) => (wake = resolve))
        wake = null
      }
      const message = queue.shift()!
      if (message.type === 'end') return
      if (message.type === 'error') throw new Error(message.message)
      worker.postMessage('next')
      yield message.batch
    }
  } finally {
    await worker.terminate()
  }
}

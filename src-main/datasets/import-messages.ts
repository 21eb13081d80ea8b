/**
 * Import of chat conversations in the OpenAI `messages` JSONL format (one `{"messages": [...]}` per
 * line, optional per-turn `loss_weight`). The whole import is one transaction: a killed or aborted
 * import leaves no half-imported dataset. Bad lines are never dropped silently: each is reported with
 * its file, line and reason, and the caller decides whether to skip them or abort.
 */
import { basename } from 'node:path'
import { z } from 'zod'
import type { Split } from '../../src-preload/contract'
import type { Store } from '../store'
import type { NewSample } from '../store/repos/datasets'
import { readLinesSync } from './lines'

const messageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string(),
  loss_weight: z.number().min(0).optional()
})
const rowSchema = z.object({ messages: z.array(messageSchema).min(1) })

export interface BadRow {
  file: string
  line: number
  reason: string
}

export interface ImportOptions {
  datasetId: number
  file: string
  split: Split
  onBadRows: 'skip' | 'abort'
  /** Called every few thousand rows with the lines read so far. */
  onProgress?: (linesRead: number) => void
}

export interface ImportOutcome {
  imported: number
  badRows: BadRow[]
}

export class ImportAbortedError extends Error {
  constructor(readonly badRows: BadRow[]) {
    const first = badRows[0]
    super(
      `datasets.import: line ${first.line} of ${basename(first.file)}: ${first.reason}` +
        (badRows.length > 1 ? ` (and ${badRows.length - 1} more bad lines)` : '') +
        '; nothing was imported'
    )
    this.name = 'ImportAbortedError'
  }
}

const BATCH_ROWS = 2000

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]
  const where = issue.path.length > 0 ? `"${issue.path.join('.')}"` : 'the row'
  return `${where}: ${issue.message}`
}

/** Parses one line into a sample, or returns why it cannot be one. */
export function parseMessagesLine(
  text: string
): { conversation: NewSample['conversation'] } | { reason: string } {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    return { reason: `not valid JSON (${(err as Error).message})` }
  }
  const parsed = rowSchema.safeParse(value)
  if (!parsed.success) return { reason: describeIssue(parsed.error) }
  if (!parsed.data.messages.some((m) => m.role === 'assistant'))
    return { reason: 'no assistant turn to train on' }
  return { conversation: { messages: parsed.data.messages } }
}

export function importMessagesJsonl(store: Store, options: ImportOptions): ImportOutcome {
  const badRows: BadRow[] = []
  let imported = 0
  const run = store.db.transaction(() => {
    let batch: NewSample[] = []
    const flush = () => {
      if (batch.length === 0) return
      store.datasets.addSamples(options.datasetId, batch, {
        author: 'import',
        note: `imported from ${options.file}`
      })
      imported += batch.length
      batch = []
    }
    for (const { line, text } of readLinesSync(options.file)) {
      if (text.trim() === '') continue
      const parsed = parseMessagesLine(text)
      if ('reason' in parsed) {
        badRows.push({ file: options.file, line, reason: parsed.reason })
        continue
      }
      batch.push({
        conversation: parsed.conversation,
        split: options.split,
        sourceFile: options.file,
        sourceLine: line
      })
      if (batch.length >= BATCH_ROWS) {
        flush()
        options.onProgress?.(line)
      }
    }
    flush()
    // Throwing inside the transaction rolls every inserted row back.
    if (badRows.length > 0 && options.onBadRows === 'abort') throw new ImportAbortedError(badRows)
  })
  run()
  return { imported, badRows }
}

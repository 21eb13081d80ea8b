/**
 * The long dataset operations, written against a store so that they run the same in a job worker
 * (their usual place, see jobs.ts) and in tests: token counting, pre-flight, near-duplicate search,
 * export, and edits of many samples at once (bulk actions, split assignment). Samples are read in
 * pages by id, never all at once.
 */
import { writeSync } from 'node:fs'
import { basename, dirname } from 'node:path'
import type {
  BulkAction,
  Conversation,
  ExportFormat,
  PreflightProblemKind,
  SampleFilter
} from '../../src-preload/contract'
import { removeStaleTemporaries, replaceFileAtomically } from '../engine/checkpoint/atomic-write'
import type { Store } from '../store'
import { exportRow, ExportSkip } from './export'
import { MinHasher, nearDuplicateGroups, shingleHashes, type MinHashOptions } from './minhash'
import { assignSplits, type SplitRatios } from './splits'
import { cachedTokenizer, preflightSample, renderedTokenCount } from './template'

const PAGE = 1000

export interface WorkHooks {
  onProgress?: (done: number, total: number, message: string) => void
  signal?: AbortSignal
}

interface LiveSample {
  id: number
  conversation: string
  content_hash: string
}

function checkCancelled(hooks: WorkHooks, operation: string): void {
  if (hooks.signal?.aborted) throw new Error(`${operation}: cancelled`)
}

function liveCount(store: Store, datasetId: number): number {
  return store.db
    .prepare<[number], number>('SELECT count(*) FROM samples WHERE dataset_id = ? AND deleted_at IS NULL')
    .pluck()
    .get(datasetId)!
}

/** The live samples of a dataset in id order, a page at a time (so writes can happen between pages). */
function* livePages(store: Store, datasetId: number): Generator<LiveSample[]> {
  const page = store.db.prepare<[number, number, number], LiveSample>(
    `SELECT id, conversation, content_hash FROM samples
     WHERE dataset_id = ? AND deleted_at IS NULL AND id > ? ORDER BY id LIMIT ?`
  )
  let after = 0
  for (;;) {
    const rows = page.all(datasetId, after, PAGE)
    if (rows.length === 0) return
    yield rows
    after = rows[rows.length - 1].id
  }
}

/** Counts every live sample's tokens with a tokenizer and stores them under `tokenizerKey`. */
export function countTokens(
  store: Store,
  input: { datasetId: number; tokenizerKey: string; modelDir: string },
  hooks: WorkHooks = {}
): { counted: number; failed: number } {
  const tokenizer = cachedTokenizer(input.modelDir)
  const total = liveCount(store, input.datasetId)
  let counted = 0
  let failed = 0
  for (const rows of livePages(store, input.datasetId)) {
    checkCancelled(hooks, 'datasets.countTokens')
    const counts: { sampleId: number; contentHash: string; tokens: number }[] = []
    for (const row of rows) {
      try {
        const tokens = renderedTokenCount(tokenizer, JSON.parse(row.conversation) as Conversation)
        counts.push({ sampleId: row.id, contentHash: row.content_hash, tokens })
      } catch {
        // A sample the template refuses has no length; pre-flight reports why.
        failed++
      }
    }
    store.datasets.saveTokenCounts(input.tokenizerKey, counts)
    counted += counts.length
    hooks.onProgress?.(counted + failed, total, `${counted} samples counted`)
  }
  return { counted, failed }
}

export interface PreflightOutcome {
  checked: number
  counts: Record<PreflightProblemKind, number>
  problems: { sampleId: number; kind: PreflightProblemKind; detail: string; tokenCount: number | null }[]
}

const MAX_LISTED_PROBLEMS = 1000

export function preflight(
  store: Store,
  input: { datasetId: number; modelDir: string; maxLength: number },
  hooks: WorkHooks = {}
): PreflightOutcome {
  const tokenizer = cachedTokenizer(input.modelDir)
  const total = liveCount(store, input.datasetId)
  const outcome: PreflightOutcome = {
    checked: 0,
    counts: { empty: 0, too_long: 0, no_trainable_tokens: 0, template_error: 0, template_drops: 0 },
    problems: []
  }
  for (const rows of livePages(store, input.datasetId)) {
    checkCancelled(hooks, 'datasets.preflight')
    for (const row of rows) {
      const problem = preflightSample(
        tokenizer,
        JSON.parse(row.conversation) as Conversation,
        input.maxLength
      )
      outcome.checked++
      if (!problem) continue
      outcome.counts[problem.kind]++
      if (outcome.problems.length < MAX_LISTED_PROBLEMS)
        outcome.problems.push({ sampleId: row.id, ...problem })
    }
    hooks.onProgress?.(outcome.checked, total, `${outcome.checked} samples checked`)
  }
  return outcome
}

/** Every turn's text of a stored conversation, chosen and rejected, for shingling. */
function searchableText(conversationJson: string): string {
  const conversation = JSON.parse(conversationJson) as Conversation
  return [...conversation.messages, ...(conversation.rejected ?? [])].map((m) => m.content).join('\n')
}

/** Finds near-duplicate groups among the live samples and stores them (replacing the last search's). */
export function findNearDuplicates(
  store: Store,
  input: { datasetId: number } & MinHashOptions,
  hooks: WorkHooks = {}
): { groups: number; samples: number } {
  const hasher = new MinHasher(input.numHashes)
  const total = liveCount(store, input.datasetId)
  const ids: number[] = []
  const signatures: (Uint32Array | null)[] = []
  for (const rows of livePages(store, input.datasetId)) {
    checkCancelled(hooks, 'datasets.findNearDuplicates')
    for (const row of rows) {
      const shingles = shingleHashes(searchableText(row.conversation), input.shingleWords)
      ids.push(row.id)
      signatures.push(shingles.size > 0 ? hasher.signature(shingles) : null)
    }
    hooks.onProgress?.(ids.length, total, `${ids.length} samples hashed`)
  }
  const groups = nearDuplicateGroups(signatures, input).map((group) => ({
    sampleIds: group.members.map((index) => ids[index]),
    similarity: group.similarity
  }))
  store.datasets.saveNearDuplicates(
    input.datasetId,
    { threshold: input.threshold, shingleWords: input.shingleWords, numHashes: input.numHashes },
    groups
  )
  return { groups: groups.length, samples: groups.reduce((n, g) => n + g.sampleIds.length, 0) }
}

export interface ExportRequest {
  /** A frozen version, or the live samples of a dataset matching a filter. */
  source: { versionId: number } | { datasetId: number; filter: SampleFilter }
  format: ExportFormat
  path: string
  /** Replace a file at `path`; otherwise (the default) an export finding one there when done fails. */
  overwrite?: boolean
}

export interface ExportOutcome {
  written: number
  skipped: { sampleId: number | null; position: number | null; reason: string }[]
}

const MAX_LISTED_SKIPS = 1000

/** The conversations to export, a page at a time, with their sample id and version position. */
function* exportPages(
  store: Store,
  source: ExportRequest['source']
): Generator<{ sampleId: number | null; position: number | null; conversation: Conversation }[]> {
  if ('versionId' in source) {
    for (let offset = 0; ; offset += PAGE) {
      const rows = store.datasets.versionSamples(source.versionId, { limit: PAGE, offset })
      if (rows.length === 0) return
      yield rows.map((r) => ({ sampleId: r.sampleId, position: r.position, conversation: r.conversation }))
    }
  }
  const ids = store.datasets.sampleIds(source.datasetId, source.filter)
  const byIds = store.db.prepare<[string], { id: number; conversation: string }>(
    'SELECT id, conversation FROM samples WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id'
  )
  for (let at = 0; at < ids.length; at += PAGE) {
    const rows = byIds.all(JSON.stringify(ids.slice(at, at + PAGE)))
    yield rows.map((r) => ({
      sampleId: r.id,
      position: null,
      conversation: JSON.parse(r.conversation) as Conversation
    }))
  }
}

/**
 * Writes the samples as JSONL to a temporary file beside `path` and renames it into place at the
 * end, so a cancelled or failed export never leaves a half-written file under the asked name. The
 * temporaries of earlier exports to `path` whose process was killed are removed first.
 */
export function exportSamples(store: Store, request: ExportRequest, hooks: WorkHooks = {}): ExportOutcome {
  const { path } = request
  removeStaleTemporaries(dirname(path), { of: basename(path) })
  const outcome: ExportOutcome = { written: 0, skipped: [] }
  let skippedCount = 0
  try {
    replaceFileAtomically(
      path,
      (fd) => {
        for (const page of exportPages(store, request.source)) {
          checkCancelled(hooks, 'datasets.export')
          const lines: string[] = []
          for (const item of page) {
            try {
              lines.push(JSON.stringify(exportRow(item.conversation, request.format)))
            } catch (error) {
              if (!(error instanceof ExportSkip)) throw error
              skippedCount++
              if (outcome.skipped.length < MAX_LISTED_SKIPS) {
                outcome.skipped.push({
                  sampleId: item.sampleId,
                  position: item.position,
                  reason: error.message
                })
              }
            }
          }
          if (lines.length > 0) writeSync(fd, lines.join('\n') + '\n')
          outcome.written += lines.length
          hooks.onProgress?.(outcome.written + skippedCount, 0, `${outcome.written} samples written`)
        }
      },
      { replace: request.overwrite ?? false }
    )
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    throw new Error(`datasets.export: ${path} was created while exporting; pass overwrite to replace it`)
  }
  return outcome
}

// ---------------------------------------------------------------------------------------------
// Edits of many samples
// ---------------------------------------------------------------------------------------------

/**
 * Selections at least this large are edited in a job worker: every changed sample gets a revision
 * (about 60 µs each), so 100k samples would hold the main thread for seconds.
 */
export const LARGE_EDIT_SAMPLES = 2000

export interface BulkEditRequest {
  datasetId: number
  sampleIds: number[]
  action: BulkAction
  author: string
}

export function bulkEdit(store: Store, request: BulkEditRequest): { changed: number } {
  return {
    changed: store.datasets.bulk(request.datasetId, request.sampleIds, request.action, request.author)
  }
}

export interface SplitRequest {
  datasetId: number
  filter: SampleFilter
  seed: number
  ratios: SplitRatios
  stratifyByTag: boolean
  author: string
}

/** Seeded splits over the samples matching the filter (see splits.ts), each change a revision. */
export function assignDatasetSplits(
  store: Store,
  request: SplitRequest
): { counts: Record<'train' | 'validation' | 'test', number>; changed: number } {
  const ids = store.datasets.sampleIds(request.datasetId, request.filter)
  const samples = ids.map((id) => ({ id, tags: store.datasets.getSample(id)!.tags }))
  const assignment = assignSplits(samples, request)
  const { train, validation, test } = request.ratios
  const note = `split seed ${request.seed} (${train}/${validation}/${test})`
  const changed = store.datasets.assignSplits(request.datasetId, assignment, request.author, note)
  const counts = { train: 0, validation: 0, test: 0 }
  for (const split of assignment.values()) counts[split]++
  return { counts, changed }
}

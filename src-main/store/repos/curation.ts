/**
 * Curating a dataset's samples: browsing windows of a filtered, sorted table, edits with history
 * and undo, bulk actions, statistics, duplicate groups and per-tokenizer token counts. Part of the
 * datasets repository (createDatasetsRepo spreads these in); the basic sample operations it builds
 * on (updateSample, revertSample, …) live there.
 */
import type Database from 'better-sqlite3'
import type {
  BulkAction,
  Conversation,
  ConversationRole,
  DatasetDetail,
  DatasetStats,
  DatasetSummary,
  DuplicateGroup,
  DuplicateReport,
  HistogramBin,
  SampleDetail,
  SampleFilter,
  SamplePage,
  SampleRevisionInfo,
  SampleRow,
  SampleSortColumn,
  Split
} from '../../../src-preload/contract'
import { StoreConflictError, StoreNotFoundError } from '../errors'
import { parseStringArray } from '../json'
import {
  EXACT_DUPLICATES_SQL,
  SORT_SQL,
  answeredByIndex,
  filterConditions,
  searchMatch,
  type SearchNarrowing,
  type QueryParams
} from './sample-query'
import type { SampleTableRow } from './datasets'
import { NOW_SQL, inTransaction } from './sql'

/** What curation needs from the core repository. */
export interface CurationCore {
  updateSample(
    id: number,
    change: { tags?: string[]; split?: Split; rating?: number | null },
    by: { author?: string; note?: string }
  ): { revision: number }
  revertSample(id: number, revision: number, by: { author?: string; note?: string }): unknown
  softDeleteSample(id: number): unknown
  restoreSample(id: number): unknown
  revisions(id: number): {
    revision: number
    conversation: Conversation
    tags: string[]
    split: Split
    rating: number | null
    author: string
    note: string
    createdAt: string
  }[]
  get(id: number): DatasetSummary | null
}

export interface SampleQuery {
  filter?: SampleFilter
  sort?: { column: SampleSortColumn; direction: 'asc' | 'desc' }
  /** Fills SampleRow.tokenCount and the tokenCount sort. */
  tokenizer?: string | null
  limit?: number
  offset?: number
  /** Count a search's matches all the way, however long it takes (see countSearch). */
  exactTotal?: boolean
}

/** Matches a search counts before it stops and calls the total a lower bound. */
export const SEARCH_COUNT_CAP = 10_000

/** A sample row with what browsing adds: turn count, token count, exact-duplicate count. */
interface BrowseRow extends SampleTableRow {
  message_count: number
  token_count: number | null
  exact_duplicates: number
}

const PREVIEW_CHARS = 300

function cut(text: string): string {
  return text.length > PREVIEW_CHARS ? text.slice(0, PREVIEW_CHARS) : text
}

function toSampleRow(row: BrowseRow, conversation: Conversation): SampleRow {
  const messages = conversation.messages
  const firstUser = messages.find((m) => m.role === 'user')
  const lastAssistant = [...messages].reverse().find((m) => m.role === 'assistant')
  return {
    id: row.id,
    split: row.split,
    tags: parseStringArray(row.tags, 'samples.tags'),
    rating: row.rating,
    revision: row.revision,
    edited: row.revision > 1,
    deleted: row.deleted_at !== null,
    messageCount: row.message_count,
    roles: messages.map((m) => m.role),
    prompt: cut(firstUser?.content ?? ''),
    response: cut(lastAssistant?.content ?? ''),
    isPreference: conversation.rejected !== undefined,
    tokenCount: row.token_count,
    exactDuplicates: row.exact_duplicates,
    sourceLine: row.source_line,
    createdAt: row.created_at,
    updatedAt: row.updated_at
  }
}

function toSampleDetail(row: BrowseRow): SampleDetail {
  const conversation = JSON.parse(row.conversation) as Conversation
  return {
    ...toSampleRow(row, conversation),
    datasetId: row.dataset_id,
    conversation,
    sourceFile: row.source_file,
    contentHash: row.content_hash,
    deletedAt: row.deleted_at
  }
}

const SELECT_BROWSE = `SELECT s.id, s.dataset_id, s.conversation, s.tags, s.split, s.rating, s.source_file,
    s.source_line, s.content_hash, s.revision, s.deleted_at, s.created_at, s.updated_at, s.message_count,
    tc.tokens AS token_count, ${EXACT_DUPLICATES_SQL} AS exact_duplicates
  FROM samples s
  LEFT JOIN sample_token_counts tc
    ON tc.tokenizer = @tokenizer AND tc.sample_id = s.id AND tc.content_hash = s.content_hash`

/** Quantile of sorted values by the nearest-rank method. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

/** Equal-width bins over [min, max], integer bounds (token counts are integers). */
export function histogram(sorted: readonly number[], bins: number): HistogramBin[] {
  if (sorted.length === 0) return []
  const min = sorted[0]
  const max = sorted[sorted.length - 1]
  const width = Math.max(1, Math.ceil((max - min + 1) / bins))
  const out: HistogramBin[] = []
  for (let from = min; from <= max; from += width) out.push({ from, to: from + width, count: 0 })
  for (const value of sorted) out[Math.floor((value - min) / width)].count++
  return out
}

function changedParts(
  before: SampleRevisionInfo | null,
  after: Omit<SampleRevisionInfo, 'changed'>
): SampleRevisionInfo['changed'] {
  if (before === null) return ['conversation', 'tags', 'split', 'rating']
  const changed: SampleRevisionInfo['changed'] = []
  if (JSON.stringify(before.conversation) !== JSON.stringify(after.conversation)) changed.push('conversation')
  if (JSON.stringify(before.tags) !== JSON.stringify(after.tags)) changed.push('tags')
  if (before.split !== after.split) changed.push('split')
  if (before.rating !== after.rating) changed.push('rating')
  return changed
}

export function createCurationRepo(db: Database.Database, core: CurationCore) {
  const statements = {
    sampleById: db.prepare<{ id: number; tokenizer: string | null }, BrowseRow>(
      `${SELECT_BROWSE} WHERE s.id = @id`
    ),
    // What a bulk action needs of a sample; the full detail (duplicates, token counts) costs far more.
    datasetOfSample: db.prepare<
      [number],
      { dataset_id: number; deleted_at: string | null; tags: string; revision: number }
    >('SELECT dataset_id, deleted_at, tags, revision FROM samples WHERE id = ?'),
    splitCounts: db.prepare<[number], { split: Split; n: number }>(
      'SELECT split, count(*) AS n FROM samples WHERE dataset_id = ? AND deleted_at IS NULL GROUP BY split'
    ),
    counts: db.prepare<[number], { deleted: number; edited: number; updated_at: string }>(
      `SELECT
         (SELECT count(*) FROM samples WHERE dataset_id = d.id AND deleted_at IS NOT NULL) AS deleted,
         (SELECT count(*) FROM samples WHERE dataset_id = d.id AND deleted_at IS NULL AND revision > 1) AS edited,
         d.updated_at
       FROM datasets d WHERE d.id = ?`
    ),
    tagCounts: db.prepare<[number], { tag: string; count: number }>(
      `SELECT t.value AS tag, count(*) AS count FROM samples s, json_each(s.tags) t
       WHERE s.dataset_id = ? AND s.deleted_at IS NULL GROUP BY t.value ORDER BY count DESC, tag`
    ),
    roleCounts: db.prepare<[number], { role: ConversationRole; messages: number; samples: number }>(
      `SELECT m.value ->> '$.role' AS role, count(*) AS messages, count(DISTINCT s.id) AS samples
       FROM samples s, json_each(s.conversation, '$.messages') m
       WHERE s.dataset_id = ? AND s.deleted_at IS NULL GROUP BY role ORDER BY messages DESC, role`
    ),
    messageCounts: db.prepare<[number], { messages: number; samples: number }>(
      `SELECT message_count AS messages, count(*) AS samples FROM samples
       WHERE dataset_id = ? AND deleted_at IS NULL GROUP BY message_count ORDER BY message_count`
    ),
    preferenceCount: db.prepare<[number], { n: number }>(
      `SELECT count(*) AS n FROM samples WHERE dataset_id = ? AND deleted_at IS NULL
         AND json_type(conversation, '$.rejected') IS NOT NULL`
    ),
    tokenCounts: db
      .prepare<{ datasetId: number; tokenizer: string }, number>(
        `SELECT c.tokens FROM sample_token_counts c JOIN samples s
           ON s.id = c.sample_id AND s.content_hash = c.content_hash
         WHERE c.tokenizer = @tokenizer AND s.dataset_id = @datasetId AND s.deleted_at IS NULL
         ORDER BY c.tokens`
      )
      .pluck(),
    tokenizers: db.prepare<[number], { tokenizer: string; counted: number }>(
      `SELECT c.tokenizer, count(*) AS counted FROM sample_token_counts c JOIN samples s
         ON s.id = c.sample_id AND s.content_hash = c.content_hash
       WHERE s.dataset_id = ? AND s.deleted_at IS NULL GROUP BY c.tokenizer ORDER BY c.tokenizer`
    ),
    upsertTokenCount: db.prepare<{ tokenizer: string; sampleId: number; hash: string; tokens: number }>(
      `INSERT INTO sample_token_counts (tokenizer, sample_id, content_hash, tokens)
       VALUES (@tokenizer, @sampleId, @hash, @tokens)
       ON CONFLICT (tokenizer, sample_id) DO UPDATE SET content_hash = excluded.content_hash, tokens = excluded.tokens`
    ),
    exactGroups: db.prepare<[number], { content_hash: string; ids: string }>(
      `SELECT content_hash, group_concat(id) AS ids FROM (
         SELECT id, content_hash FROM samples WHERE dataset_id = ? AND deleted_at IS NULL ORDER BY id)
       GROUP BY content_hash HAVING count(*) > 1 ORDER BY min(id)`
    ),
    promptOf: db.prepare<[number], { prompt: string | null }>(
      `SELECT (SELECT value ->> '$.content' FROM json_each(s.conversation, '$.messages')
                WHERE value ->> '$.role' = 'user' ORDER BY key LIMIT 1) AS prompt
       FROM samples s WHERE s.id = ?`
    ),
    nearSearch: db.prepare<[number], { threshold: number; created_at: string }>(
      'SELECT threshold, created_at FROM near_duplicate_searches WHERE dataset_id = ?'
    ),
    nearMembers: db.prepare<[number], { group_no: number; sample_id: number; similarity: number }>(
      `SELECT m.group_no, m.sample_id, m.similarity FROM near_duplicate_members m
         JOIN samples s ON s.id = m.sample_id
       WHERE m.dataset_id = ? AND s.deleted_at IS NULL ORDER BY m.group_no, m.sample_id`
    ),
    clearNear: db.prepare<[number]>('DELETE FROM near_duplicate_searches WHERE dataset_id = ?'),
    insertNearSearch: db.prepare<{
      datasetId: number
      threshold: number
      shingleWords: number
      numHashes: number
    }>(
      `INSERT INTO near_duplicate_searches (dataset_id, threshold, shingle_words, num_hashes)
       VALUES (@datasetId, @threshold, @shingleWords, @numHashes)`
    ),
    insertNearMember: db.prepare<{ datasetId: number; group: number; sampleId: number; similarity: number }>(
      `INSERT INTO near_duplicate_members (dataset_id, group_no, sample_id, similarity)
       VALUES (@datasetId, @group, @sampleId, @similarity)`
    ),
    touchDataset: db.prepare<[number]>(`UPDATE datasets SET updated_at = ${NOW_SQL} WHERE id = ?`),
    // Cheaper than the summary (which counts the samples) when only existence matters.
    datasetExists: db
      .prepare<[number], number>('SELECT 1 FROM datasets WHERE id = ? AND import_heartbeat_at IS NULL')
      .pluck(),
    searchCount: db
      .prepare<[string], number>('SELECT count(*) FROM sample_search WHERE sample_search MATCH ?')
      .pluck(),
    searchCountUpTo: db
      .prepare<[string, number], number>(
        'SELECT count(*) FROM (SELECT 1 FROM sample_search WHERE sample_search MATCH ? LIMIT ?)'
      )
      .pluck(),
    // Each an index range scan (samples_by_dataset, samples_live, samples_by_split) that stops at the first row.
    otherDatasetsHaveSamples: db
      .prepare<[number, number], number>(
        `SELECT EXISTS (SELECT 1 FROM samples WHERE dataset_id < ?)
             OR EXISTS (SELECT 1 FROM samples WHERE dataset_id > ?)`
      )
      .pluck(),
    hasDeletedSamples: db
      .prepare<[number], number>(
        'SELECT EXISTS (SELECT 1 FROM samples WHERE dataset_id = ? AND deleted_at IS NOT NULL)'
      )
      .pluck(),
    hasSamplesOutsideSplit: db
      .prepare<{ datasetId: number; split: string }, number>(
        `SELECT EXISTS (SELECT 1 FROM samples WHERE dataset_id = @datasetId AND split < @split)
             OR EXISTS (SELECT 1 FROM samples WHERE dataset_id = @datasetId AND split > @split)`
      )
      .pluck()
  }

  function requireDataset(operation: string, datasetId: number): void {
    if (!statements.datasetExists.get(datasetId)) {
      throw new StoreNotFoundError(`${operation}: no dataset with id ${datasetId}`)
    }
  }

  function whereClause(datasetId: number, filter: SampleFilter, params: QueryParams): string {
    return filterConditions(datasetId, filter, params).join(' AND ')
  }

  /** The meta tokens a search in this dataset needs (see SearchNarrowing): three index lookups. */
  function searchNarrowing(datasetId: number, filter: SampleFilter): SearchNarrowing {
    return {
      dataset: statements.otherDatasetsHaveSamples.get(datasetId, datasetId) === 1,
      deletion: statements.hasDeletedSamples.get(datasetId) === 1,
      split:
        filter.split !== undefined &&
        statements.hasSamplesOutsideSplit.get({ datasetId, split: filter.split }) === 1
    }
  }

  /**
   * The matches of a search, counted up to SEARCH_COUNT_CAP unless asked for exactly: the count
   * walks every match (a phrase of two very common words on a million samples takes a fifth of a
   * second), while the first page and the first thousands of matches take a few milliseconds. The
   * table shows the capped count at once and asks for the exact one behind it.
   */
  function countSearch(search: string, exact: boolean): { total: number; exact: boolean } {
    if (exact) return { total: statements.searchCount.get(search)!, exact: true }
    const counted = statements.searchCountUpTo.get(search, SEARCH_COUNT_CAP + 1)!
    return counted > SEARCH_COUNT_CAP
      ? { total: SEARCH_COUNT_CAP, exact: false }
      : { total: counted, exact: true }
  }

  /** A window of the filtered, sorted samples and the filter's total (for a virtualised table). */
  function querySamples(datasetId: number, query: SampleQuery = {}): Omit<SamplePage, 'unindexed'> {
    requireDataset('datasets.samples', datasetId)
    const filter = query.filter ?? {}
    const sort = query.sort ?? { column: 'id', direction: 'asc' }
    if (!Object.hasOwn(SORT_SQL, sort.column)) {
      throw new StoreConflictError(`datasets.samples: cannot sort by "${sort.column}"`)
    }
    const direction = sort.direction === 'desc' ? 'DESC' : 'ASC'
    const window = { limit: query.limit ?? 100, offset: query.offset ?? 0 }
    const tokenizer = query.tokenizer ?? null
    let total: number
    let rows: BrowseRow[]
    let totalExact = true
    if (answeredByIndex(datasetId, filter)) {
      // The search index alone counts the matches and, in id order, yields the window's ids.
      const search = searchMatch(datasetId, filter, searchNarrowing(datasetId, filter))!
      ;({ total, exact: totalExact } = countSearch(search, query.exactTotal ?? false))
      rows =
        sort.column === 'id'
          ? db
              .prepare<QueryParams, BrowseRow>(
                `${SELECT_BROWSE} WHERE s.id IN (SELECT rowid FROM sample_search WHERE sample_search MATCH @search
                   ORDER BY rowid ${direction} LIMIT @limit OFFSET @offset)
                 ORDER BY s.id ${direction}`
              )
              .all({ search, tokenizer, ...window })
          : pageRows(datasetId, filter, sort.column, direction, tokenizer, window)
    } else {
      const params: QueryParams = {}
      const where = whereClause(datasetId, filter, params)
      total = db
        .prepare<QueryParams, number>(`SELECT count(*) FROM samples s WHERE ${where}`)
        .pluck()
        .get(params)!
      rows = pageRows(datasetId, filter, sort.column, direction, tokenizer, window)
    }
    return {
      // A capped count is at least what this page shows.
      total: totalExact ? total : Math.max(total, window.offset + rows.length),
      totalExact,
      offset: window.offset,
      rows: rows.map((row) => toSampleRow(row, JSON.parse(row.conversation) as Conversation))
    }
  }

  function pageRows(
    datasetId: number,
    filter: SampleFilter,
    column: SampleSortColumn,
    direction: 'ASC' | 'DESC',
    tokenizer: string | null,
    window: { limit: number; offset: number }
  ): BrowseRow[] {
    const params: QueryParams = { tokenizer, ...window }
    const where = whereClause(datasetId, filter, params)
    const order = `${SORT_SQL[column]} ${direction} NULLS LAST, s.id ${direction}`
    return db
      .prepare<QueryParams, BrowseRow>(
        `${SELECT_BROWSE} WHERE ${where} ORDER BY ${order} LIMIT @limit OFFSET @offset`
      )
      .all(params)
  }

  /** Ids of every sample matching the filter, in id order. */
  function sampleIds(datasetId: number, filter: SampleFilter = {}): number[] {
    requireDataset('datasets.sampleIds', datasetId)
    const params: QueryParams = {}
    const where = whereClause(datasetId, filter, params)
    return db
      .prepare<QueryParams, number>(`SELECT s.id FROM samples s WHERE ${where} ORDER BY s.id`)
      .pluck()
      .all(params)
  }

  function sampleDetail(sampleId: number, tokenizer: string | null = null): SampleDetail | null {
    const row = statements.sampleById.get({ id: sampleId, tokenizer })
    return row ? toSampleDetail(row) : null
  }

  function requireSampleDetail(
    operation: string,
    sampleId: number,
    tokenizer: string | null = null
  ): SampleDetail {
    const detail = sampleDetail(sampleId, tokenizer)
    if (!detail) throw new StoreNotFoundError(`${operation}: no sample with id ${sampleId}`)
    return detail
  }

  function history(sampleId: number): SampleRevisionInfo[] {
    requireSampleDetail('datasets.sampleHistory', sampleId)
    const out: SampleRevisionInfo[] = []
    for (const revision of core.revisions(sampleId)) {
      const info = {
        revision: revision.revision,
        author: revision.author,
        note: revision.note,
        createdAt: revision.createdAt,
        conversation: revision.conversation,
        tags: revision.tags,
        split: revision.split,
        rating: revision.rating
      }
      out.push({ ...info, changed: changedParts(out[out.length - 1] ?? null, info) })
    }
    return out
  }

  /** Undo: a new revision equal to the one before the current one. */
  function undoSample(sampleId: number, author: string): SampleDetail {
    const current = requireSampleDetail('datasets.undoSample', sampleId)
    if (current.revision <= 1) {
      throw new StoreConflictError(
        `datasets.undoSample: sample ${sampleId} has no earlier revision to go back to`
      )
    }
    core.revertSample(sampleId, current.revision - 1, {
      author,
      note: `undo revision ${current.revision}`
    })
    return requireSampleDetail('datasets.undoSample', sampleId)
  }

  /** Applies one action to many samples of a dataset, all or none; returns how many changed. */
  const bulk = inTransaction(
    db,
    (datasetId: number, sampleIds: readonly number[], action: BulkAction, author: string): number => {
      requireDataset('datasets.bulk', datasetId)
      let changed = 0
      for (const id of new Set(sampleIds)) {
        const owner = statements.datasetOfSample.get(id)
        if (!owner || owner.dataset_id !== datasetId) {
          throw new StoreNotFoundError(`datasets.bulk: dataset ${datasetId} has no sample with id ${id}`)
        }
        if (action.kind === 'delete' || action.kind === 'restore') {
          const deleting = action.kind === 'delete'
          if ((owner.deleted_at !== null) === deleting) continue
          if (deleting) core.softDeleteSample(id)
          else core.restoreSample(id)
          changed++
          continue
        }
        if (owner.deleted_at !== null) continue
        const tags = JSON.parse(owner.tags) as string[]
        const change =
          action.kind === 'tag'
            ? { tags: [...tags, ...action.tags] }
            : action.kind === 'untag'
              ? { tags: tags.filter((tag) => !action.tags.includes(tag)) }
              : action.kind === 'setSplit'
                ? { split: action.split }
                : { rating: action.rating }
        const { revision } = core.updateSample(id, change, { author, note: `bulk ${action.kind}` })
        if (revision !== owner.revision) changed++
      }
      if (changed > 0) statements.touchDataset.run(datasetId)
      return changed
    }
  )

  /** Sets the split of each given sample (one revision each where it changes). */
  const assignSplits = inTransaction(
    db,
    (datasetId: number, assignments: ReadonlyMap<number, Split>, author: string, note: string): number => {
      requireDataset('datasets.assignSplits', datasetId)
      let changed = 0
      for (const [id, split] of assignments) {
        const before = requireSampleDetail('datasets.assignSplits', id)
        if (before.datasetId !== datasetId) {
          throw new StoreNotFoundError(
            `datasets.assignSplits: dataset ${datasetId} has no sample with id ${id}`
          )
        }
        if (before.split === split) continue
        core.updateSample(id, { split }, { author, note })
        changed++
      }
      return changed
    }
  )

  function detail(datasetId: number): DatasetDetail | null {
    const summary = core.get(datasetId)
    if (!summary) return null
    const counts = statements.counts.get(datasetId)!
    return {
      ...summary,
      updatedAt: counts.updated_at,
      splits: splitCounts(datasetId),
      deletedCount: counts.deleted,
      editedCount: counts.edited,
      tags: statements.tagCounts.all(datasetId)
    }
  }

  function splitCounts(datasetId: number): Record<Split, number> {
    const splits: Record<Split, number> = { train: 0, validation: 0, test: 0 }
    for (const { split, n } of statements.splitCounts.all(datasetId)) splits[split] = n
    return splits
  }

  /** Statistics of the live samples; token lengths when counted with `tokenizer`. */
  function stats(
    datasetId: number,
    tokenizer: string | null,
    bins: number
  ): Omit<DatasetStats, 'tokenizers'> & {
    tokenizers: { tokenizer: string; counted: number }[]
  } {
    requireDataset('datasets.stats', datasetId)
    const splits = splitCounts(datasetId)
    const counts = tokenizer ? statements.tokenCounts.all({ datasetId, tokenizer }) : []
    const tokens =
      tokenizer && counts.length > 0
        ? {
            tokenizer,
            counted: counts.length,
            min: counts[0],
            max: counts[counts.length - 1],
            mean: counts.reduce((a, b) => a + b, 0) / counts.length,
            p50: quantile(counts, 0.5),
            p95: quantile(counts, 0.95),
            histogram: histogram(counts, bins)
          }
        : null
    return {
      sampleCount: splits.train + splits.validation + splits.test,
      splits,
      roles: statements.roleCounts.all(datasetId),
      messageCounts: statements.messageCounts.all(datasetId),
      preferenceCount: statements.preferenceCount.get(datasetId)!.n,
      tokens,
      tokenizers: statements.tokenizers.all(datasetId)
    }
  }

  /** Stores token counts measured on the given content (a count is ignored once the content changes). */
  const saveTokenCounts = inTransaction(
    db,
    (
      tokenizer: string,
      counts: readonly { sampleId: number; contentHash: string; tokens: number }[]
    ): void => {
      for (const c of counts) {
        statements.upsertTokenCount.run({
          tokenizer,
          sampleId: c.sampleId,
          hash: c.contentHash,
          tokens: c.tokens
        })
      }
    }
  )

  function groupPrompt(sampleId: number): string {
    return cut(statements.promptOf.get(sampleId)?.prompt ?? '')
  }

  function exactDuplicates(datasetId: number): DuplicateReport {
    requireDataset('datasets.duplicates', datasetId)
    const groups: DuplicateGroup[] = statements.exactGroups.all(datasetId).map((row) => {
      const sampleIds = row.ids.split(',').map(Number)
      return { kind: 'exact', sampleIds, similarity: 1, prompt: groupPrompt(sampleIds[0]) }
    })
    return {
      kind: 'exact',
      groups,
      sampleCount: groups.reduce((n, g) => n + g.sampleIds.length, 0),
      threshold: null,
      createdAt: null
    }
  }

  /** The stored near-duplicate groups, without samples deleted since (groups left with one drop out). */
  function nearDuplicates(datasetId: number): DuplicateReport {
    requireDataset('datasets.duplicates', datasetId)
    const search = statements.nearSearch.get(datasetId)
    const byGroup = new Map<number, { ids: number[]; similarity: number }>()
    for (const member of statements.nearMembers.all(datasetId)) {
      const group = byGroup.get(member.group_no) ?? { ids: [], similarity: member.similarity }
      group.ids.push(member.sample_id)
      byGroup.set(member.group_no, group)
    }
    const groups: DuplicateGroup[] = [...byGroup.values()]
      .filter((g) => g.ids.length > 1)
      .map((g) => ({
        kind: 'near',
        sampleIds: g.ids,
        similarity: g.similarity,
        prompt: groupPrompt(g.ids[0])
      }))
    return {
      kind: 'near',
      groups,
      sampleCount: groups.reduce((n, g) => n + g.sampleIds.length, 0),
      threshold: search?.threshold ?? null,
      createdAt: search?.created_at ?? null
    }
  }

  /** Replaces the dataset's near-duplicate groups with a new search's result. */
  const saveNearDuplicates = inTransaction(
    db,
    (
      datasetId: number,
      settings: { threshold: number; shingleWords: number; numHashes: number },
      groups: readonly { sampleIds: readonly number[]; similarity: number }[]
    ): void => {
      requireDataset('datasets.findNearDuplicates', datasetId)
      statements.clearNear.run(datasetId)
      statements.insertNearSearch.run({ datasetId, ...settings })
      groups.forEach((group, index) => {
        for (const sampleId of group.sampleIds) {
          statements.insertNearMember.run({ datasetId, group: index, sampleId, similarity: group.similarity })
        }
      })
    }
  )

  return {
    exists: (datasetId: number): boolean => statements.datasetExists.get(datasetId) !== undefined,
    querySamples,
    sampleIds,
    sampleDetail,
    history,
    undoSample,
    bulk,
    assignSplits,
    detail,
    stats,
    saveTokenCounts,
    exactDuplicates,
    nearDuplicates,
    saveNearDuplicates
  }
}

export type CurationRepo = ReturnType<typeof createCurationRepo>

/**
 * Browsing a dataset's samples as the samples table shows them: windows of a filtered, sorted
 * list with its total, every id a filter matches (for bulk actions), and one sample in full. Rows
 * carry what the table adds to a sample: turn count, token count, exact-duplicate count. The SQL of
 * filters and sorts is built in sample-query.ts.
 */
import type Database from 'better-sqlite3'
import type {
  Conversation,
  SampleDetail,
  SampleFilter,
  SamplePage,
  SampleRow,
  SampleSortColumn
} from '../../../src-preload/contract'
import { StoreConflictError } from '../errors'
import { parseStringArray } from '../json'
import { prepareSql, sql, type Sql } from '../sql-template'
import type { DatasetTable } from './dataset-table'
import {
  EXACT_DUPLICATES_SQL,
  SORT_SQL,
  answeredByIndex,
  filterConditions,
  registerSampleFunctions,
  searchMatch,
  type SearchNarrowing
} from './sample-query'
import type { SampleTableRow } from './samples'

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

/** The start of a long text, as previews show it. */
export function preview(text: string): string {
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
    prompt: preview(conversation.text ?? firstUser?.content ?? ''),
    response: preview(lastAssistant?.content ?? ''),
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

/** The browse columns of samples `s`, with their token counts by `tokenizer` for their current content. */
function selectBrowse(tokenizer: string | null): Sql {
  return sql`SELECT s.id, s.dataset_id, s.conversation, s.tags, s.split, s.rating, s.source_file,
    s.source_line, s.content_hash, s.revision, s.deleted_at, s.created_at, s.updated_at, s.message_count,
    tc.tokens AS token_count, ${EXACT_DUPLICATES_SQL} AS exact_duplicates
  FROM samples s
  LEFT JOIN sample_token_counts tc
    ON tc.tokenizer = ${tokenizer} AND tc.sample_id = s.id AND tc.content_hash = s.content_hash`
}

const DIRECTION_SQL = { asc: sql`ASC`, desc: sql`DESC` } as const

type SortDirection = keyof typeof DIRECTION_SQL

interface Window {
  limit: number
  offset: number
}

export function createSampleBrowser(db: Database.Database, datasets: Pick<DatasetTable, 'requireDataset'>) {
  registerSampleFunctions(db)
  const statements = {
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
    datasets.requireDataset('datasets.samples', datasetId)
    const filter = query.filter ?? {}
    const sort = query.sort ?? { column: 'id', direction: 'asc' }
    if (!Object.hasOwn(SORT_SQL, sort.column)) {
      throw new StoreConflictError(`datasets.samples: cannot sort by "${sort.column}"`)
    }
    const direction: SortDirection = sort.direction === 'desc' ? 'desc' : 'asc'
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
          ? searchPageRows(search, direction, tokenizer, window)
          : pageRows(datasetId, filter, sort.column, direction, tokenizer, window)
    } else {
      total = prepareSql<number>(
        db,
        sql`SELECT count(*) FROM samples s WHERE ${filterConditions(datasetId, filter)}`
      )
        .pluck()
        .get()!
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

  /** A window of a search's matches in id order, read from the index alone. */
  function searchPageRows(
    search: string,
    direction: SortDirection,
    tokenizer: string | null,
    window: Window
  ): BrowseRow[] {
    const order = DIRECTION_SQL[direction]
    return prepareSql<BrowseRow>(
      db,
      sql`${selectBrowse(tokenizer)} WHERE s.id IN (SELECT rowid FROM sample_search WHERE sample_search MATCH ${search}
          ORDER BY rowid ${order} LIMIT ${window.limit} OFFSET ${window.offset})
        ORDER BY s.id ${order}`
    ).all()
  }

  function pageRows(
    datasetId: number,
    filter: SampleFilter,
    column: SampleSortColumn,
    direction: SortDirection,
    tokenizer: string | null,
    window: Window
  ): BrowseRow[] {
    const order = DIRECTION_SQL[direction]
    return prepareSql<BrowseRow>(
      db,
      sql`${selectBrowse(tokenizer)} WHERE ${filterConditions(datasetId, filter)}
        ORDER BY ${SORT_SQL[column]} ${order} NULLS LAST, s.id ${order}
        LIMIT ${window.limit} OFFSET ${window.offset}`
    ).all()
  }

  /** Ids of every sample matching the filter, in id order. */
  function sampleIds(datasetId: number, filter: SampleFilter = {}): number[] {
    datasets.requireDataset('datasets.sampleIds', datasetId)
    return prepareSql<number>(
      db,
      sql`SELECT s.id FROM samples s WHERE ${filterConditions(datasetId, filter)} ORDER BY s.id`
    )
      .pluck()
      .all()
  }

  function sampleDetail(sampleId: number, tokenizer: string | null = null): SampleDetail | null {
    const row = prepareSql<BrowseRow>(db, sql`${selectBrowse(tokenizer)} WHERE s.id = ${sampleId}`).get()
    return row ? toSampleDetail(row) : null
  }

  return { querySamples, sampleIds, sampleDetail }
}

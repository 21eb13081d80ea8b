/**
 * The SQL behind browsing a dataset: a filter becomes fixed SQL conditions with bound parameters
 * (built with the sql`…` tag, so no user text ever reaches the query text), a sort column maps to a
 * fixed expression, and full-text search goes through the FTS5 index that migration 0004 keeps in
 * sync.
 */
import type Database from 'better-sqlite3'
import type { ConversationRole, SampleFilter, SampleSortColumn } from '../../../src-preload/contract'
import { StoreConflictError } from '../errors'
import { joinSql, sql, type Sql } from '../sql-template'
import { compileUserRegex, type UserRegex } from '../user-regex'

/** The content of the first user turn of the sample row `s`: its prompt (a raw-text sample's text). */
export const FIRST_USER_CONTENT_SQL = sql`coalesce(s.conversation ->> '$.text', (SELECT value ->> '$.content'
  FROM json_each(s.conversation, '$.messages') WHERE value ->> '$.role' = 'user' ORDER BY key LIMIT 1))`

/** Expressions over the sample row `s` (and `tc`, its token count for the chosen tokenizer). */
export const SORT_SQL: Record<SampleSortColumn, Sql> = {
  id: sql`s.id`,
  createdAt: sql`s.created_at`,
  updatedAt: sql`s.updated_at`,
  rating: sql`s.rating`,
  split: sql`s.split`,
  tags: sql`s.tags`,
  messageCount: sql`s.message_count`,
  tokenCount: sql`tc.tokens`,
  revision: sql`s.revision`,
  sourceLine: sql`s.source_line`,
  prompt: FIRST_USER_CONTENT_SQL,
  response: sql`(SELECT value ->> '$.content' FROM json_each(s.conversation, '$.messages')
    WHERE value ->> '$.role' = 'assistant' ORDER BY key DESC LIMIT 1)`
}

/**
 * Other live samples of the dataset with the same content. The index is named: without it the
 * planner may walk every live sample of the dataset (samples_live) once per row.
 */
const OTHER_LIVE_COPIES_SQL = sql`FROM samples d INDEXED BY samples_by_content_hash
  WHERE d.dataset_id = s.dataset_id AND d.content_hash = s.content_hash AND d.id <> s.id
    AND d.deleted_at IS NULL`
export const EXACT_DUPLICATES_SQL = sql`(SELECT count(*) ${OTHER_LIVE_COPIES_SQL})`
const HAS_EXACT_DUPLICATE_SQL = sql`EXISTS (SELECT 1 ${OTHER_LIVE_COPIES_SQL})`
const HAS_NEAR_DUPLICATE_SQL = sql`EXISTS (SELECT 1 FROM near_duplicate_members m
  WHERE m.sample_id = s.id AND m.dataset_id = s.dataset_id)`

/**
 * A search box's text as an FTS5 query: every word and "quoted phrase" must occur (AND), a word
 * ending in * matches as a prefix. Each term is quoted, so FTS5 operators and punctuation in the
 * text are searched for literally rather than failing as syntax.
 */
export function ftsQuery(text: string): string | null {
  const terms: string[] = []
  const pattern = /"([^"]*)"|(\S+)/g
  for (const match of text.matchAll(pattern)) {
    const phrase = match[1] ?? match[2]
    const prefix = match[2] !== undefined && phrase.endsWith('*') && phrase.length > 1
    const body = (prefix ? phrase.slice(0, -1) : phrase).replaceAll('"', '""')
    if (body.trim() === '') continue
    terms.push(`"${body}"${prefix ? '*' : ''}`)
  }
  return terms.length > 0 ? terms.join(' ') : null
}

/**
 * Which meta tokens a search must carry to narrow it. A token every indexed sample has only slows
 * the search down (intersecting with a million-entry doclist costs about 40 ms), so the caller may
 * leave out the ones that narrow nothing: the dataset when it is the only one with samples, "live"
 * when the dataset has no deleted samples, the split when all its samples are in it.
 */
export interface SearchNarrowing {
  dataset: boolean
  deletion: boolean
  split: boolean
}

const NARROW_BY_EVERYTHING: SearchNarrowing = { dataset: true, deletion: true, split: true }

/**
 * The full MATCH expression of a search: the text in the body column, narrowed by the meta tokens
 * migration 0004 indexes (dataset, live/deleted, split), so the index alone can answer it.
 */
export function searchMatch(
  datasetId: number,
  filter: SampleFilter,
  narrowing: SearchNarrowing = NARROW_BY_EVERYTHING
): string | null {
  const text = filter.search === undefined ? null : ftsQuery(filter.search)
  if (text === null) return null
  const meta: string[] = []
  if (narrowing.dataset) meta.push(`meta : "d${datasetId}"`)
  const deleted = filter.deleted ?? 'exclude'
  if (deleted === 'only' || (deleted === 'exclude' && narrowing.deletion)) {
    meta.push(`meta : "${deleted === 'exclude' ? 'live' : 'deleted'}"`)
  }
  if (filter.split !== undefined && narrowing.split) meta.push(`meta : "${filter.split}"`)
  return [...meta, `body : (${text})`].join(' AND ')
}

/** Whether the index alone answers the filter: a search narrowed only by split and deletion. */
export function answeredByIndex(datasetId: number, filter: SampleFilter): boolean {
  if (searchMatch(datasetId, filter) === null) return false
  return Object.entries(filter).every(
    ([key, value]) => value === undefined || key === 'search' || key === 'split' || key === 'deleted'
  )
}

/** The conditions of a filter over samples `s` of one dataset, joined by AND. */
export function filterConditions(datasetId: number, filter: SampleFilter): Sql {
  const where = [sql`s.dataset_id = ${datasetId}`]
  switch (filter.deleted ?? 'exclude') {
    case 'exclude':
      where.push(sql`s.deleted_at IS NULL`)
      break
    case 'only':
      where.push(sql`s.deleted_at IS NOT NULL`)
      break
    case 'include':
      break
  }
  const match = searchMatch(datasetId, filter)
  if (match !== null) {
    where.push(sql`s.id IN (SELECT rowid FROM sample_search WHERE sample_search MATCH ${match})`)
  }
  if (filter.regex !== undefined) {
    where.push(sql`fs_sample_matches(${filter.regex}, ${filter.regexFlags ?? ''}, s.conversation)`)
  }
  for (const tag of filter.tags ?? []) {
    where.push(sql`EXISTS (SELECT 1 FROM json_each(s.tags) WHERE value = ${tag})`)
  }
  if (filter.excludeTags && filter.excludeTags.length > 0) {
    const excluded = JSON.stringify(filter.excludeTags)
    where.push(
      sql`NOT EXISTS (SELECT 1 FROM json_each(s.tags) WHERE value IN (SELECT value FROM json_each(${excluded})))`
    )
  }
  if (filter.untagged !== undefined) where.push(filter.untagged ? sql`s.tags = '[]'` : sql`s.tags <> '[]'`)
  if (filter.split !== undefined) where.push(sql`s.split = ${filter.split}`)
  if (filter.minMessages !== undefined) where.push(sql`s.message_count >= ${filter.minMessages}`)
  if (filter.maxMessages !== undefined) where.push(sql`s.message_count <= ${filter.maxMessages}`)
  if (filter.hasRole !== undefined) {
    where.push(
      sql`EXISTS (SELECT 1 FROM json_each(s.conversation, '$.messages')
        WHERE value ->> '$.role' = ${filter.hasRole satisfies ConversationRole})`
    )
  }
  if (filter.minTokens !== undefined || filter.maxTokens !== undefined) {
    where.push(tokenLengthCondition(filter))
  }
  if (filter.duplicate === 'exact') where.push(HAS_EXACT_DUPLICATE_SQL)
  if (filter.duplicate === 'near') where.push(HAS_NEAR_DUPLICATE_SQL)
  if (filter.duplicate === 'any') where.push(sql`(${HAS_EXACT_DUPLICATE_SQL} OR ${HAS_NEAR_DUPLICATE_SQL})`)
  if (filter.edited !== undefined) where.push(filter.edited ? sql`s.revision > 1` : sql`s.revision = 1`)
  if (filter.minRating !== undefined) where.push(sql`s.rating >= ${filter.minRating}`)
  if (filter.maxRating !== undefined) where.push(sql`s.rating <= ${filter.maxRating}`)
  if (filter.preference !== undefined) {
    where.push(
      filter.preference
        ? sql`json_type(s.conversation, '$.rejected') IS NOT NULL`
        : sql`json_type(s.conversation, '$.rejected') IS NULL`
    )
  }
  return joinSql(where, sql` AND `)
}

/** Samples whose token count (with the filter's tokenizer, for their current content) is in bounds. */
function tokenLengthCondition(filter: SampleFilter): Sql {
  if (filter.tokenizer === undefined) {
    throw new StoreConflictError(
      'datasets.samples: a token-length filter needs a tokenizer (count tokens first)'
    )
  }
  const bounds = [
    filter.minTokens !== undefined ? sql`c.tokens >= ${filter.minTokens}` : null,
    filter.maxTokens !== undefined ? sql`c.tokens <= ${filter.maxTokens}` : null
  ].filter((bound) => bound !== null)
  return sql`EXISTS (SELECT 1 FROM sample_token_counts c WHERE c.tokenizer = ${filter.tokenizer}
         AND c.sample_id = s.id AND c.content_hash = s.content_hash AND ${joinSql(bounds, sql` AND `)})`
}

/** Every turn's text, chosen and rejected, of a stored conversation. */
function turnTexts(conversationJson: string): string[] {
  const conversation = JSON.parse(conversationJson) as {
    messages: { content: string }[]
    rejected?: { content: string }[]
  }
  return [...conversation.messages, ...(conversation.rejected ?? [])].map((m) => m.content)
}

/**
 * Registers the SQL function behind the regex filter on a connection. The pattern runs in RE2
 * (user-regex.ts), so no pattern can hold the connection's thread for long. Compiled patterns are
 * kept, since SQLite calls the function once per row with the same pattern.
 */
export function registerSampleFunctions(db: Database.Database): void {
  let cached: { key: string; regex: UserRegex } | null = null
  db.function('fs_sample_matches', { deterministic: true }, (pattern, flags, conversation) => {
    const key = `${String(flags)}/${String(pattern)}`
    if (cached?.key !== key) cached = { key, regex: compileUserRegex(String(pattern), String(flags)) }
    const regex = cached.regex
    return turnTexts(String(conversation)).some((text) => regex.test(text)) ? 1 : 0
  })
}

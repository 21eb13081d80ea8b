/**
 * The SQL behind browsing a dataset: a filter becomes a list of fixed SQL conditions with bound
 * parameters (no user text ever reaches the query text), a sort column maps to a fixed expression,
 * and full-text search goes through the FTS5 index that migration 0004 keeps in sync.
 */
import type Database from 'better-sqlite3'
import type { ConversationRole, SampleFilter, SampleSortColumn } from '../../../src-preload/contract'
import { StoreConflictError } from '../errors'
import { compileUserRegex, type UserRegex } from '../user-regex'

export type QueryParams = Record<string, string | number | null>

/** Expressions over the sample row `s` (and `tc`, its token count for the chosen tokenizer). */
const FIRST_USER_SQL = `(SELECT value ->> '$.content' FROM json_each(s.conversation, '$.messages')
  WHERE value ->> '$.role' = 'user' ORDER BY key LIMIT 1)`
const LAST_ASSISTANT_SQL = `(SELECT value ->> '$.content' FROM json_each(s.conversation, '$.messages')
  WHERE value ->> '$.role' = 'assistant' ORDER BY key DESC LIMIT 1)`

export const SORT_SQL: Record<SampleSortColumn, string> = {
  id: 's.id',
  createdAt: 's.created_at',
  updatedAt: 's.updated_at',
  rating: 's.rating',
  split: 's.split',
  tags: 's.tags',
  messageCount: 's.message_count',
  tokenCount: 'tc.tokens',
  revision: 's.revision',
  sourceLine: 's.source_line',
  prompt: FIRST_USER_SQL,
  response: LAST_ASSISTANT_SQL
}

/**
 * Other live samples of the dataset with the same content. The index is named: without it the
 * planner may walk every live sample of the dataset (samples_live) once per row.
 */
export const EXACT_DUPLICATES_SQL = `(SELECT count(*) FROM samples d INDEXED BY samples_by_content_hash
  WHERE d.dataset_id = s.dataset_id AND d.content_hash = s.content_hash AND d.id <> s.id
    AND d.deleted_at IS NULL)`

const HAS_EXACT_DUPLICATE_SQL = `EXISTS (SELECT 1 FROM samples d INDEXED BY samples_by_content_hash
  WHERE d.dataset_id = s.dataset_id AND d.content_hash = s.content_hash AND d.id <> s.id
    AND d.deleted_at IS NULL)`
const HAS_NEAR_DUPLICATE_SQL = `EXISTS (SELECT 1 FROM near_duplicate_members m
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

/**
 * The WHERE conditions of a filter over samples `s` of one dataset, adding their parameters
 * (@datasetId among them) to `params`.
 */
export function filterConditions(datasetId: number, filter: SampleFilter, params: QueryParams): string[] {
  params.datasetId = datasetId
  const where = ['s.dataset_id = @datasetId']
  const bind = (name: string, value: string | number | null): string => {
    params[name] = value
    return `@${name}`
  }
  switch (filter.deleted ?? 'exclude') {
    case 'exclude':
      where.push('s.deleted_at IS NULL')
      break
    case 'only':
      where.push('s.deleted_at IS NOT NULL')
      break
    case 'include':
      break
  }
  const match = searchMatch(datasetId, filter)
  if (match !== null) {
    where.push(`s.id IN (SELECT rowid FROM sample_search WHERE sample_search MATCH ${bind('search', match)})`)
  }
  if (filter.regex !== undefined) {
    where.push(
      `fs_sample_matches(${bind('regex', filter.regex)}, ${bind('regexFlags', filter.regexFlags ?? '')}, s.conversation)`
    )
  }
  ;(filter.tags ?? []).forEach((tag, i) => {
    where.push(`EXISTS (SELECT 1 FROM json_each(s.tags) WHERE value = ${bind(`tag${i}`, tag)})`)
  })
  if (filter.excludeTags && filter.excludeTags.length > 0) {
    where.push(
      `NOT EXISTS (SELECT 1 FROM json_each(s.tags) WHERE value IN (SELECT value FROM json_each(${bind(
        'excludeTags',
        JSON.stringify(filter.excludeTags)
      )})))`
    )
  }
  if (filter.untagged !== undefined) where.push(filter.untagged ? "s.tags = '[]'" : "s.tags <> '[]'")
  if (filter.split !== undefined) where.push(`s.split = ${bind('split', filter.split)}`)
  if (filter.minMessages !== undefined)
    where.push(`s.message_count >= ${bind('minMessages', filter.minMessages)}`)
  if (filter.maxMessages !== undefined)
    where.push(`s.message_count <= ${bind('maxMessages', filter.maxMessages)}`)
  if (filter.hasRole !== undefined) {
    where.push(
      `EXISTS (SELECT 1 FROM json_each(s.conversation, '$.messages') WHERE value ->> '$.role' = ${bind(
        'hasRole',
        filter.hasRole satisfies ConversationRole
      )})`
    )
  }
  if (filter.minTokens !== undefined || filter.maxTokens !== undefined) {
    if (filter.tokenizer === undefined) {
      throw new StoreConflictError(
        'datasets.samples: a token-length filter needs a tokenizer (count tokens first)'
      )
    }
    const bounds = [
      filter.minTokens !== undefined ? `c.tokens >= ${bind('minTokens', filter.minTokens)}` : null,
      filter.maxTokens !== undefined ? `c.tokens <= ${bind('maxTokens', filter.maxTokens)}` : null
    ].filter((b) => b !== null)
    where.push(
      `EXISTS (SELECT 1 FROM sample_token_counts c WHERE c.tokenizer = ${bind('filterTokenizer', filter.tokenizer)}
         AND c.sample_id = s.id AND c.content_hash = s.content_hash AND ${bounds.join(' AND ')})`
    )
  }
  if (filter.duplicate === 'exact') where.push(HAS_EXACT_DUPLICATE_SQL)
  if (filter.duplicate === 'near') where.push(HAS_NEAR_DUPLICATE_SQL)
  if (filter.duplicate === 'any') where.push(`(${HAS_EXACT_DUPLICATE_SQL} OR ${HAS_NEAR_DUPLICATE_SQL})`)
  if (filter.edited !== undefined) where.push(filter.edited ? 's.revision > 1' : 's.revision = 1')
  if (filter.minRating !== undefined) where.push(`s.rating >= ${bind('minRating', filter.minRating)}`)
  if (filter.maxRating !== undefined) where.push(`s.rating <= ${bind('maxRating', filter.maxRating)}`)
  if (filter.preference !== undefined) {
    where.push(`json_type(s.conversation, '$.rejected') IS ${filter.preference ? 'NOT NULL' : 'NULL'}`)
  }
  return where
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

/** The samples of a dataset: browsing them, editing them one at a time or in bulk, their history. */
import { z } from 'zod'
import { conversationSchema, type Conversation, type ConversationRole } from './conversation'
import { call, editor, id, page, sampleId, split, tagList, type Split } from './shared'

export type DuplicateKind = 'exact' | 'near'

/** Filters for browsing, bulk actions and export; all given ones must hold. */
export interface SampleFilter {
  /** Full-text search (SQLite FTS5) over every turn's text; words are ANDed, "quoted phrases" kept. */
  search?: string
  /**
   * Regular expression in RE2 syntax (linear time: no lookaround, no backreferences), tested against
   * every turn's text (slower than search).
   */
  regex?: string
  /** Any of i (ignore case), m (^ and $ at line ends), s (. matches newline), u (Unicode). */
  regexFlags?: string
  /** Samples carrying every one of these tags. */
  tags?: string[]
  /** Samples carrying none of these tags. */
  excludeTags?: string[]
  untagged?: boolean
  split?: Split
  minMessages?: number
  maxMessages?: number
  /** Samples with a turn of this role (e.g. 'system', 'tool'). */
  hasRole?: ConversationRole
  /** Token-length bounds, measured with this tokenizer key (see datasets.countTokens). */
  tokenizer?: string
  minTokens?: number
  maxTokens?: number
  /** Member of an exact-duplicate group, of a near-duplicate group (last datasets.findNearDuplicates), or either. */
  duplicate?: DuplicateKind | 'any'
  edited?: boolean
  minRating?: number
  maxRating?: number
  /** 'exclude' (default), 'include' or 'only' soft-deleted samples. */
  deleted?: 'exclude' | 'include' | 'only'
  preference?: boolean
}

export type SampleSortColumn =
  | 'id'
  | 'createdAt'
  | 'updatedAt'
  | 'rating'
  | 'split'
  | 'tags'
  | 'messageCount'
  | 'tokenCount'
  | 'revision'
  | 'sourceLine'
  | 'prompt'
  | 'response'

/** One row of the sample table: enough to draw it, not the whole conversation. */
export interface SampleRow {
  id: number
  split: Split
  tags: string[]
  rating: number | null
  revision: number
  edited: boolean
  deleted: boolean
  messageCount: number
  /** Roles in turn order, e.g. ['system', 'user', 'assistant']. */
  roles: ConversationRole[]
  /** The first user turn (a raw-text sample: its text), cut to 300 characters. */
  prompt: string
  /** The last assistant turn, cut to 300 characters. */
  response: string
  isPreference: boolean
  /** Token count for the tokenizer asked for (null when not counted yet for the current content). */
  tokenCount: number | null
  /** Other live samples with the same content. */
  exactDuplicates: number
  sourceLine: number | null
  createdAt: string
  updatedAt: string
}

export interface SamplePage {
  /** Samples matching the filter (all pages); a lower bound when totalExact is false. */
  total: number
  /**
   * False when a search stopped counting at 10,000 matches to answer at once (counting every match
   * of a very common phrase in a million samples takes a fifth of a second); ask again with
   * exactTotal for the full count.
   */
  totalExact: boolean
  /** Samples of the dataset that search cannot find yet: a large import still being indexed. */
  unindexed: number
  offset: number
  rows: SampleRow[]
}

export interface SampleDetail extends SampleRow {
  datasetId: number
  conversation: Conversation
  sourceFile: string | null
  contentHash: string
  deletedAt: string | null
}

export interface SampleRevisionInfo {
  revision: number
  author: string
  note: string
  createdAt: string
  conversation: Conversation
  tags: string[]
  split: Split
  rating: number | null
  /** Which parts changed from the revision before (revision 1: all of them). */
  changed: ('conversation' | 'tags' | 'split' | 'rating')[]
}

export type BulkAction =
  | { kind: 'tag'; tags: string[] }
  | { kind: 'untag'; tags: string[] }
  | { kind: 'setSplit'; split: Split }
  | { kind: 'rate'; rating: number | null }
  | { kind: 'delete' }
  | { kind: 'restore' }

export const sampleFilterSchema = z
  .object({
    search: z.string().max(1000).optional(),
    regex: z.string().min(1).max(1000).optional(),
    regexFlags: z
      .string()
      .regex(/^[imsu]*$/, 'regexFlags may hold only i, m, s and u')
      .optional(),
    tags: tagList.optional(),
    excludeTags: tagList.optional(),
    untagged: z.boolean().optional(),
    split: split.optional(),
    minMessages: z.number().int().min(0).optional(),
    maxMessages: z.number().int().min(0).optional(),
    hasRole: z.enum(['system', 'user', 'assistant', 'tool']).optional(),
    tokenizer: z.string().min(1).optional(),
    minTokens: z.number().int().min(0).optional(),
    maxTokens: z.number().int().min(0).optional(),
    duplicate: z.enum(['exact', 'near', 'any']).optional(),
    edited: z.boolean().optional(),
    minRating: z.number().int().optional(),
    maxRating: z.number().int().optional(),
    deleted: z.enum(['exclude', 'include', 'only']).optional(),
    preference: z.boolean().optional()
  })
  .strict()
const sortColumn = z.enum([
  'id',
  'createdAt',
  'updatedAt',
  'rating',
  'split',
  'tags',
  'messageCount',
  'tokenCount',
  'revision',
  'sourceLine',
  'prompt',
  'response'
])
const bulkActionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('tag'), tags: tagList.min(1) }).strict(),
  z.object({ kind: z.literal('untag'), tags: tagList.min(1) }).strict(),
  z.object({ kind: z.literal('setSplit'), split }).strict(),
  z.object({ kind: z.literal('rate'), rating: z.number().int().min(-1000).max(1000).nullable() }).strict(),
  z.object({ kind: z.literal('delete') }).strict(),
  z.object({ kind: z.literal('restore') }).strict()
])

export const sampleCalls = {
  'datasets.samples': call<SamplePage>()(
    "A window of a dataset's samples matching a filter, sorted, with the total count (for a virtualised table).",
    z
      .object({
        id,
        filter: sampleFilterSchema.default({}),
        sort: z
          .object({ column: sortColumn, direction: z.enum(['asc', 'desc']).default('asc') })
          .strict()
          .default({ column: 'id', direction: 'asc' }),
        /** Which tokenizer's counts fill SampleRow.tokenCount (and the tokenCount sort). */
        tokenizer: z.string().min(1).optional(),
        /** Count every match of a search, however many (see SamplePage.totalExact). */
        exactTotal: z.boolean().optional(),
        ...page
      })
      .strict()
  ),
  'datasets.sampleIds': call<number[]>()(
    'Ids of every sample matching a filter, in id order (to select all for a bulk action).',
    z.object({ id, filter: sampleFilterSchema.default({}) }).strict()
  ),
  'datasets.sample': call<SampleDetail>()(
    'One sample with its whole conversation.',
    z.object({ sampleId, tokenizer: z.string().min(1).optional() }).strict()
  ),
  'datasets.addSample': call<SampleDetail>()(
    'Add a sample written by hand.',
    z
      .object({
        id,
        conversation: conversationSchema,
        split: split.default('train'),
        tags: tagList.default([]),
        author: editor.author
      })
      .strict()
  ),
  'datasets.updateSample': call<SampleDetail>()(
    'Edit a sample (conversation, tags, split, rating); the change becomes a new revision.',
    z
      .object({
        sampleId,
        conversation: conversationSchema.optional(),
        tags: tagList.optional(),
        split: split.optional(),
        rating: z.number().int().min(-1000).max(1000).nullable().optional(),
        ...editor
      })
      .strict()
  ),
  'datasets.undoSample': call<SampleDetail>()(
    'Undo the last change of a sample: a new revision equal to the one before it.',
    z.object({ sampleId, author: editor.author }).strict()
  ),
  'datasets.revertSample': call<SampleDetail>()(
    'Bring a sample back to one of its revisions (as a new revision).',
    z.object({ sampleId, revision: z.number().int().min(1), author: editor.author }).strict()
  ),
  'datasets.sampleHistory': call<SampleRevisionInfo[]>()(
    'Every revision of a sample, oldest first, with who changed what and when.',
    z.object({ sampleId }).strict()
  ),
  'datasets.bulk': call<{ changed: number }>()(
    'Apply one action (tag, untag, set split, rate, delete, restore) to many samples, in one transaction.',
    z
      .object({
        id,
        sampleIds: z.array(sampleId).min(1).max(2_000_000),
        action: bulkActionSchema,
        author: editor.author
      })
      .strict()
  )
} as const

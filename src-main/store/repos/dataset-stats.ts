/**
 * What a dataset's live samples add up to: the detail page's counts (splits, tags, edits,
 * deletions) and the statistics (roles, turns, preference pairs, token lengths), with the per-
 * tokenizer token counts they draw on (table sample_token_counts; a count stands only while the
 * sample's content is the one it was measured on).
 */
import type Database from 'better-sqlite3'
import type {
  ConversationRole,
  DatasetDetail,
  DatasetStats,
  HistogramBin,
  Split
} from '../../../src-preload/contract'
import type { DatasetTable } from './dataset-table'
import { inTransaction } from './sql'

/** Quantile of sorted values by the nearest-rank method. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

/** Equal-width bins over [min, max], integer bounds (token counts are integers). */
function histogram(sorted: readonly number[], bins: number): HistogramBin[] {
  if (sorted.length === 0) return []
  const min = sorted[0]
  const max = sorted[sorted.length - 1]
  const width = Math.max(1, Math.ceil((max - min + 1) / bins))
  const out: HistogramBin[] = []
  for (let from = min; from <= max; from += width) out.push({ from, to: from + width, count: 0 })
  for (const value of sorted) out[Math.floor((value - min) / width)].count++
  return out
}

function prepareStatements(db: Database.Database) {
  return {
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
    )
  }
}

export function createDatasetStatsRepo(
  db: Database.Database,
  datasets: Pick<DatasetTable, 'get' | 'requireDataset'>
) {
  const statements = prepareStatements(db)

  function splitCounts(datasetId: number): Record<Split, number> {
    const splits: Record<Split, number> = { train: 0, validation: 0, test: 0 }
    for (const { split, n } of statements.splitCounts.all(datasetId)) splits[split] = n
    return splits
  }

  function detail(datasetId: number): DatasetDetail | null {
    const summary = datasets.get(datasetId)
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

  /** Token-length statistics of the live samples counted with `tokenizer`; null when none are. */
  function tokenStats(datasetId: number, tokenizer: string | null, bins: number): DatasetStats['tokens'] {
    const counts = tokenizer ? statements.tokenCounts.all({ datasetId, tokenizer }) : []
    if (!tokenizer || counts.length === 0) return null
    return {
      tokenizer,
      counted: counts.length,
      min: counts[0],
      max: counts[counts.length - 1],
      mean: counts.reduce((a, b) => a + b, 0) / counts.length,
      p50: quantile(counts, 0.5),
      p95: quantile(counts, 0.95),
      histogram: histogram(counts, bins)
    }
  }

  /** Statistics of the live samples; token lengths when counted with `tokenizer`. */
  function stats(
    datasetId: number,
    tokenizer: string | null,
    bins: number
  ): Omit<DatasetStats, 'tokenizers'> & {
    tokenizers: { tokenizer: string; counted: number }[]
  } {
    datasets.requireDataset('datasets.stats', datasetId)
    const splits = splitCounts(datasetId)
    return {
      sampleCount: splits.train + splits.validation + splits.test,
      splits,
      roles: statements.roleCounts.all(datasetId),
      messageCounts: statements.messageCounts.all(datasetId),
      preferenceCount: statements.preferenceCount.get(datasetId)!.n,
      tokens: tokenStats(datasetId, tokenizer, bins),
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

  return { detail, stats, saveTokenCounts }
}

/**
 * The full-text index's backlog (migration 0006): sample ids committed without being indexed yet,
 * and the batches that index them. Large imports defer their indexing here so that the import
 * itself is not slowed down by it; triggers keep every other change in sync directly.
 */
import type Database from 'better-sqlite3'
// The searchable text and meta tokens exactly as the triggers compute them (defined by the latest
// migration to change each; one that changes them again must be imported here instead).
import { metaText } from '../migrations/0004-dataset-curation'
import { bodyText } from '../migrations/0009-search-raw-text'
import { inTransaction } from './sql'

export interface SearchIndexRepo {
  /** The id the next inserted sample gets (AUTOINCREMENT: above every id ever used). */
  nextSampleId(): number
  /**
   * Marks ids first..last as not yet indexed. Call in the transaction that inserts those samples,
   * before inserting them, so their insert trigger leaves them to the backlog.
   */
  defer(firstId: number, lastId: number): void
  /** Indexes up to `limit` backlogged ids in one transaction; returns how many ids it took. */
  indexNext(limit: number): number
  /** Ids waiting in the backlog (an upper bound on samples: some may have been purged since). */
  backlogSize(): number
  /** Live or deleted samples of the dataset that search cannot find yet. */
  unindexedSamples(datasetId: number): number
}

export function createSearchIndexRepo(db: Database.Database): SearchIndexRepo {
  const sql = {
    nextId: db
      .prepare<[], number>(
        `SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'samples'), 0),
                    coalesce((SELECT max(id) FROM samples), 0)) + 1`
      )
      .pluck(),
    extend: db.prepare<{ first: number; last: number }>(
      'UPDATE sample_search_backlog SET last_id = @last WHERE last_id = @first - 1'
    ),
    add: db.prepare<{ first: number; last: number }>(
      'INSERT INTO sample_search_backlog (first_id, last_id) VALUES (@first, @last)'
    ),
    firstRange: db.prepare<[], { first_id: number; last_id: number }>(
      'SELECT first_id, last_id FROM sample_search_backlog ORDER BY first_id LIMIT 1'
    ),
    index: db.prepare<[number, number]>(
      `INSERT INTO sample_search (rowid, body, meta)
       SELECT id, ${bodyText('samples')}, ${metaText('samples')} FROM samples WHERE id BETWEEN ? AND ?`
    ),
    shrink: db.prepare<[number, number]>('UPDATE sample_search_backlog SET first_id = ? WHERE first_id = ?'),
    drop: db.prepare<[number]>('DELETE FROM sample_search_backlog WHERE first_id = ?'),
    size: db
      .prepare<[], number>('SELECT coalesce(sum(last_id - first_id + 1), 0) FROM sample_search_backlog')
      .pluck(),
    unindexed: db
      .prepare<[number], number>(
        `SELECT count(*) FROM sample_search_backlog b
         JOIN samples s ON s.dataset_id = ? AND s.id BETWEEN b.first_id AND b.last_id`
      )
      .pluck()
  }

  // Immediate (as every inTransaction): the batch reads the backlog and writes the index as one
  // writer, so two indexers (the app and a CLI on the same store) never index the same ids twice.
  const indexNext = inTransaction(db, (limit: number): number => {
    const range = sql.firstRange.get()
    if (!range) return 0
    const last = Math.min(range.last_id, range.first_id + limit - 1)
    sql.index.run(range.first_id, last)
    if (last === range.last_id) sql.drop.run(range.first_id)
    else sql.shrink.run(last + 1, range.first_id)
    return last - range.first_id + 1
  })

  return {
    nextSampleId: () => sql.nextId.get()!,
    defer(first, last) {
      if (last < first) return
      if (sql.extend.run({ first, last }).changes === 0) sql.add.run({ first, last })
    },
    indexNext,
    backlogSize: () => sql.size.get()!,
    unindexedSamples: (datasetId) => sql.unindexed.get(datasetId)!
  }
}

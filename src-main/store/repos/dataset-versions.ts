/**
 * Dataset versions (tables dataset_versions and dataset_version_samples): immutable snapshots of a
 * dataset's live samples, each sample frozen with the revision, split, tags and rating it had, and
 * a content hash over them. Runs train on versions, never on the changing samples.
 */
import type Database from 'better-sqlite3'
import type { DatasetVersionSummary, Split, VersionSampleRow } from '../../../src-preload/contract'
import { sha256Hex } from '../../shared/canonical-json'
import type { DatasetTable } from './dataset-table'
import { parseSampleState, type SampleTableRow, type StoredSampleState } from './samples'
import { inTransaction, pageParams, type Page } from './sql'

export interface VersionSampleOptions extends Page {
  split?: Split
}

/** Samples of a version's split, and how many of them carry a rejected response (preference pairs). */
export interface PreferenceCounts {
  samples: number
  pairs: number
}

interface VersionRow {
  id: number
  dataset_id: number
  version: number
  content_hash: string
  sample_count: number
  note: string
  created_at: string
}

interface FrozenSampleRow extends StoredSampleState {
  position: number
  sample_id: number | null
  sample_revision: number
  content_hash: string
}

function prepareStatements(db: Database.Database) {
  return {
    purgeDeletedSamples: db.prepare<[number]>(
      'DELETE FROM samples WHERE dataset_id = ? AND deleted_at IS NOT NULL'
    ),
    liveSamplesInOrder: db.prepare<[number], SampleTableRow>(
      'SELECT * FROM samples WHERE dataset_id = ? AND deleted_at IS NULL ORDER BY id'
    ),
    maxVersion: db.prepare<[number], { max: number | null }>(
      'SELECT MAX(version) AS max FROM dataset_versions WHERE dataset_id = ?'
    ),
    insertVersion: db.prepare<
      { datasetId: number; version: number; hash: string; sampleCount: number; note: string },
      { id: number }
    >(
      `INSERT INTO dataset_versions (dataset_id, version, content_hash, sample_count, note)
       VALUES (@datasetId, @version, @hash, @sampleCount, @note) RETURNING id`
    ),
    insertVersionSample: db.prepare<
      StoredSampleState & {
        versionId: number
        position: number
        sampleId: number
        sampleRevision: number
        hash: string
      }
    >(
      `INSERT INTO dataset_version_samples
         (version_id, position, sample_id, sample_revision, conversation, tags, split, rating, content_hash)
       VALUES (@versionId, @position, @sampleId, @sampleRevision, @conversation, @tags, @split, @rating, @hash)`
    ),
    getVersion: db.prepare<[number], VersionRow>('SELECT * FROM dataset_versions WHERE id = ?'),
    listVersions: db.prepare<[number], VersionRow>(
      'SELECT * FROM dataset_versions WHERE dataset_id = ? ORDER BY version DESC'
    ),
    versionSamples: db.prepare<
      { versionId: number; split: Split | null; limit: number; offset: number },
      FrozenSampleRow
    >(
      `SELECT position, sample_id, sample_revision, conversation, tags, split, rating, content_hash
       FROM dataset_version_samples
       WHERE version_id = @versionId AND (@split IS NULL OR split = @split)
       ORDER BY position LIMIT @limit OFFSET @offset`
    ),
    preferenceCounts: db.prepare<{ versionId: number; split: Split }, PreferenceCounts>(
      `SELECT count(*) AS samples, coalesce(sum(json_type(conversation, '$.rejected') IS NOT NULL), 0) AS pairs
       FROM dataset_version_samples WHERE version_id = @versionId AND split = @split`
    )
  }
}

function toDatasetVersion(row: VersionRow): DatasetVersionSummary {
  return {
    id: row.id,
    datasetId: row.dataset_id,
    version: row.version,
    contentHash: row.content_hash,
    sampleCount: row.sample_count,
    note: row.note,
    createdAt: row.created_at
  }
}

function toVersionSample(row: FrozenSampleRow): VersionSampleRow {
  return {
    position: row.position,
    sampleId: row.sample_id,
    sampleRevision: row.sample_revision,
    ...parseSampleState(row, 'dataset_version_samples'),
    contentHash: row.content_hash
  }
}

/**
 * What a version's content hash covers, in sample order: each sample's conversation hash and the
 * split, tags and rating it was frozen with. Equal content gives an equal hash across datasets.
 */
function versionContentHash(rows: readonly SampleTableRow[]): string {
  const lines = rows.map((row) => `${row.content_hash}\t${row.split}\t${row.tags}\t${row.rating ?? ''}\n`)
  return sha256Hex(lines.join(''))
}

export function createDatasetVersionsRepo(
  db: Database.Database,
  datasets: Pick<DatasetTable, 'requireDataset' | 'touch'>
) {
  const statements = prepareStatements(db)

  function freezeSamples(versionId: number, rows: readonly SampleTableRow[]): void {
    rows.forEach((row, position) =>
      statements.insertVersionSample.run({
        versionId,
        position,
        sampleId: row.id,
        sampleRevision: row.revision,
        conversation: row.conversation,
        tags: row.tags,
        split: row.split,
        rating: row.rating,
        hash: row.content_hash
      })
    )
  }

  function getVersion(id: number): DatasetVersionSummary | null {
    const row = statements.getVersion.get(id)
    return row ? toDatasetVersion(row) : null
  }

  /**
   * Freezes the dataset's live samples as its next version and purges soft-deleted ones (their
   * content survives only in earlier versions that froze it).
   */
  const cutVersion = inTransaction(db, (datasetId: number, note: string = ''): DatasetVersionSummary => {
    datasets.requireDataset('datasets.cutVersion', datasetId)
    statements.purgeDeletedSamples.run(datasetId)
    const rows = statements.liveSamplesInOrder.all(datasetId)
    const version = (statements.maxVersion.get(datasetId)!.max ?? 0) + 1
    const hash = versionContentHash(rows)
    const { id } = statements.insertVersion.get({ datasetId, version, hash, sampleCount: rows.length, note })!
    freezeSamples(id, rows)
    datasets.touch(datasetId)
    return getVersion(id)!
  })

  return {
    cutVersion,
    getVersion,
    /** Newest first. */
    listVersions: (datasetId: number): DatasetVersionSummary[] =>
      statements.listVersions.all(datasetId).map(toDatasetVersion),
    /** The frozen samples in their order; every one unless a page is asked for. */
    versionSamples(versionId: number, options: VersionSampleOptions = {}): VersionSampleRow[] {
      const params = { versionId, split: options.split ?? null, ...pageParams(options, -1) }
      return statements.versionSamples.all(params).map(toVersionSample)
    },
    /** How many of the version's samples in `split` there are, and how many are preference pairs. */
    versionPreferenceCounts: (versionId: number, split: Split): PreferenceCounts =>
      statements.preferenceCounts.get({ versionId, split })!
  }
}

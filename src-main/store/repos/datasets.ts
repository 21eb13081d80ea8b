import type Database from 'better-sqlite3'
import type { Conversation, DatasetSummary, Split } from '../../../src-preload/contract'
import { StoreConflictError, StoreNotFoundError, isSqliteError } from '../errors'
import { canonicalJson, sha256Hex } from '../hash'
import { parseJsonObject, parseStringArray } from '../json'
import { createCurationRepo } from './curation'
import { registerSampleFunctions } from './sample-query'
import { NOW_SQL, inTransaction, pageParams, type Page } from './sql'

/**
 * A sample as the store keeps it: one conversation schema, whatever its source format
 * (src-main/datasets normalises; the schema is documented at Conversation in the contract).
 */
export type { Conversation, ConversationMessage } from '../../../src-preload/contract'

export interface NewSample {
  conversation: Conversation
  tags?: string[]
  split?: Split
  rating?: number | null
  sourceFile?: string | null
  sourceLine?: number | null
}

export interface SampleRecord {
  id: number
  datasetId: number
  conversation: Conversation
  tags: string[]
  split: Split
  rating: number | null
  sourceFile: string | null
  sourceLine: number | null
  contentHash: string
  revision: number
  deletedAt: string | null
  createdAt: string
  updatedAt: string
}

/** The part of a sample that edits change and revisions record. */
export interface SampleChange {
  conversation?: Conversation
  tags?: string[]
  split?: Split
  rating?: number | null
}

export interface RevisionAuthor {
  author?: string
  note?: string
}

export interface SampleRevision {
  id: number
  sampleId: number
  revision: number
  conversation: Conversation
  tags: string[]
  split: Split
  rating: number | null
  author: string
  note: string
  createdAt: string
}

export type SampleOrder = 'id' | 'updatedAt' | 'rating'

export interface SampleListOptions extends Page {
  split?: Split
  /** Only samples carrying this tag. */
  tag?: string
  includeDeleted?: boolean
  orderBy?: SampleOrder
}

export interface DatasetVersion {
  id: number
  datasetId: number
  version: number
  contentHash: string
  sampleCount: number
  note: string
  createdAt: string
}

/** One sample as frozen in a version. */
export interface VersionSample {
  position: number
  /** The sample it was cut from; null once that sample has been purged. */
  sampleId: number | null
  sampleRevision: number
  conversation: Conversation
  tags: string[]
  split: Split
  rating: number | null
  contentHash: string
}

export interface VersionSampleOptions extends Page {
  split?: Split
}

interface DatasetSummaryRow {
  id: number
  name: string
  description: string
  created_at: string
  sample_count: number
  version_count: number
  latest_id: number | null
  latest_version: number | null
  latest_hash: string | null
  latest_count: number | null
}

/** A row of the samples table, as SQLite returns it. */
export interface SampleTableRow {
  id: number
  dataset_id: number
  conversation: string
  tags: string
  split: Split
  rating: number | null
  source_file: string | null
  source_line: number | null
  content_hash: string
  revision: number
  deleted_at: string | null
  created_at: string
  updated_at: string
}

interface RevisionRow {
  id: number
  sample_id: number
  revision: number
  conversation: string
  tags: string
  split: Split
  rating: number | null
  author: string
  note: string
  created_at: string
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

interface VersionSampleRow {
  position: number
  sample_id: number | null
  sample_revision: number
  conversation: string
  tags: string
  split: Split
  rating: number | null
  content_hash: string
}

/** The columns a revision records, as stored. */
interface SampleStateParams {
  conversation: string
  tags: string
  split: Split
  rating: number | null
}

/** The author of the revision 1 of imported samples. */
export const IMPORT_AUTHOR = 'import'

/** sha256 of the conversation's canonical JSON: equal conversations hash equal, whatever their key order. */
export function conversationHash(conversation: Conversation): string {
  return sha256Hex(canonicalJson(conversation))
}

/** Tags are a set: stored trimmed, without duplicates, sorted, so equal sets hash equal. */
export function normaliseTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((tag) => tag.trim()).filter((tag) => tag !== ''))].sort()
}

/**
 * Only these orderings exist; each maps to fixed SQL, so a caller's choice never reaches the query
 * text. Ties break on id so pages are stable.
 */
const SAMPLE_ORDER_SQL: Record<SampleOrder, string> = {
  id: 'id',
  updatedAt: 'updated_at DESC, id DESC',
  rating: 'rating DESC NULLS LAST, id'
}

const SAMPLE_FILTER_SQL = `
  dataset_id = @datasetId
  AND (@split IS NULL OR split = @split)
  AND (@includeDeleted = 1 OR deleted_at IS NULL)
  AND (@tag IS NULL OR EXISTS (SELECT 1 FROM json_each(samples.tags) WHERE value = @tag))`

const DATASET_SUMMARY_SQL = `
  SELECT d.id, d.name, d.description, d.created_at,
    (SELECT COUNT(*) FROM samples WHERE dataset_id = d.id AND deleted_at IS NULL) AS sample_count,
    (SELECT COUNT(*) FROM dataset_versions WHERE dataset_id = d.id) AS version_count,
    v.id AS latest_id, v.version AS latest_version, v.content_hash AS latest_hash,
    v.sample_count AS latest_count
  FROM datasets d
  LEFT JOIN dataset_versions v
    ON v.id = (SELECT id FROM dataset_versions WHERE dataset_id = d.id ORDER BY version DESC LIMIT 1)
  -- A dataset an import is still creating does not exist yet for anyone else.
  WHERE d.import_heartbeat_at IS NULL`

function prepareStatements(db: Database.Database) {
  type SampleFilter = { datasetId: number; split: Split | null; includeDeleted: 0 | 1; tag: string | null }
  type SampleFilterPage = SampleFilter & { limit: number; offset: number }
  const listSamplesByOrder = Object.fromEntries(
    Object.entries(SAMPLE_ORDER_SQL).map(([order, orderSql]) => [
      order,
      db.prepare<SampleFilterPage, SampleTableRow>(
        `SELECT * FROM samples WHERE ${SAMPLE_FILTER_SQL} ORDER BY ${orderSql} LIMIT @limit OFFSET @offset`
      )
    ])
  ) as Record<SampleOrder, Database.Statement<SampleFilterPage, SampleTableRow>>
  return {
    insertDataset: db.prepare<{ name: string; description: string }, { id: number }>(
      'INSERT INTO datasets (name, description) VALUES (@name, @description) RETURNING id'
    ),
    listDatasets: db.prepare<[], DatasetSummaryRow>(
      `${DATASET_SUMMARY_SQL} ORDER BY d.name COLLATE NOCASE, d.id`
    ),
    getDataset: db.prepare<[number], DatasetSummaryRow>(`${DATASET_SUMMARY_SQL} AND d.id = ?`),
    renameDataset: db.prepare<[string, number]>(
      `UPDATE datasets SET name = ?, updated_at = ${NOW_SQL} WHERE id = ?`
    ),
    describeDataset: db.prepare<[string, number]>(
      `UPDATE datasets SET description = ?, updated_at = ${NOW_SQL} WHERE id = ?`
    ),
    touchDataset: db.prepare<[number]>(`UPDATE datasets SET updated_at = ${NOW_SQL} WHERE id = ?`),
    deleteDataset: db.prepare<[number]>('DELETE FROM datasets WHERE id = ?'),

    insertSample: db.prepare<
      SampleStateParams & {
        datasetId: number
        sourceFile: string | null
        sourceLine: number | null
        hash: string
      },
      { id: number }
    >(
      `INSERT INTO samples (dataset_id, conversation, tags, split, rating, source_file, source_line, content_hash)
       VALUES (@datasetId, @conversation, @tags, @split, @rating, @sourceFile, @sourceLine, @hash) RETURNING id`
    ),
    getSample: db.prepare<[number], SampleTableRow>('SELECT * FROM samples WHERE id = ?'),
    listSamplesByOrder,
    countSamples: db.prepare<SampleFilter, { n: number }>(
      `SELECT COUNT(*) AS n FROM samples WHERE ${SAMPLE_FILTER_SQL}`
    ),
    updateSampleState: db.prepare<SampleStateParams & { id: number; hash: string; revision: number }>(
      `UPDATE samples SET conversation = @conversation, tags = @tags, split = @split, rating = @rating,
         content_hash = @hash, revision = @revision, updated_at = ${NOW_SQL}
       WHERE id = @id`
    ),
    // Tags and rating only: naming neither conversation nor split keeps the search index's update
    // trigger out of the statement, which makes it about three times cheaper (bulk tagging).
    updateSampleLabels: db.prepare<
      Pick<SampleStateParams, 'tags' | 'rating'> & { id: number; revision: number }
    >(
      `UPDATE samples SET tags = @tags, rating = @rating, revision = @revision, updated_at = ${NOW_SQL}
       WHERE id = @id`
    ),
    // COALESCE keeps the first deletion time when a sample is deleted twice.
    softDeleteSample: db.prepare<[number]>(
      `UPDATE samples SET deleted_at = COALESCE(deleted_at, ${NOW_SQL}), updated_at = ${NOW_SQL} WHERE id = ?`
    ),
    restoreSample: db.prepare<[number]>(
      `UPDATE samples SET deleted_at = NULL, updated_at = ${NOW_SQL} WHERE id = ?`
    ),
    purgeDeletedSamples: db.prepare<[number]>(
      'DELETE FROM samples WHERE dataset_id = ? AND deleted_at IS NOT NULL'
    ),
    liveSamplesInOrder: db.prepare<[number], SampleTableRow>(
      'SELECT * FROM samples WHERE dataset_id = ? AND deleted_at IS NULL ORDER BY id'
    ),

    insertRevision: db.prepare<
      SampleStateParams & { sampleId: number; revision: number; author: string; note: string }
    >(
      `INSERT INTO sample_revisions (sample_id, revision, conversation, tags, split, rating, author, note)
       VALUES (@sampleId, @revision, @conversation, @tags, @split, @rating, @author, @note)`
    ),
    insertRevisionAt: db.prepare<
      SampleStateParams & {
        sampleId: number
        revision: number
        author: string
        note: string
        created_at: string
      }
    >(
      `INSERT INTO sample_revisions (sample_id, revision, conversation, tags, split, rating, author, note, created_at)
       VALUES (@sampleId, @revision, @conversation, @tags, @split, @rating, @author, @note, @created_at)`
    ),
    listRevisions: db.prepare<[number], RevisionRow>(
      'SELECT * FROM sample_revisions WHERE sample_id = ? ORDER BY revision'
    ),
    getRevision: db.prepare<[number, number], RevisionRow>(
      'SELECT * FROM sample_revisions WHERE sample_id = ? AND revision = ?'
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
      SampleStateParams & {
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
      VersionSampleRow
    >(
      `SELECT position, sample_id, sample_revision, conversation, tags, split, rating, content_hash
       FROM dataset_version_samples
       WHERE version_id = @versionId AND (@split IS NULL OR split = @split)
       ORDER BY position LIMIT @limit OFFSET @offset`
    )
  }
}

function toDatasetSummary(row: DatasetSummaryRow): DatasetSummary {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    createdAt: row.created_at,
    sampleCount: row.sample_count,
    versionCount: row.version_count,
    latestVersion:
      row.latest_id === null
        ? null
        : {
            id: row.latest_id,
            version: row.latest_version as number,
            contentHash: row.latest_hash as string,
            sampleCount: row.latest_count as number
          }
  }
}

function parseConversation(text: string): Conversation {
  return parseJsonObject(text, 'samples.conversation') as unknown as Conversation
}

function toSampleRecord(row: SampleTableRow): SampleRecord {
  return {
    id: row.id,
    datasetId: row.dataset_id,
    conversation: parseConversation(row.conversation),
    tags: parseStringArray(row.tags, 'samples.tags'),
    split: row.split,
    rating: row.rating,
    sourceFile: row.source_file,
    sourceLine: row.source_line,
    contentHash: row.content_hash,
    revision: row.revision,
    deletedAt: row.deleted_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at
  }
}

function toSampleRevision(row: RevisionRow): SampleRevision {
  return {
    id: row.id,
    sampleId: row.sample_id,
    revision: row.revision,
    conversation: parseConversation(row.conversation),
    tags: parseStringArray(row.tags, 'sample_revisions.tags'),
    split: row.split,
    rating: row.rating,
    author: row.author,
    note: row.note,
    createdAt: row.created_at
  }
}

function toDatasetVersion(row: VersionRow): DatasetVersion {
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

function toVersionSample(row: VersionSampleRow): VersionSample {
  return {
    position: row.position,
    sampleId: row.sample_id,
    sampleRevision: row.sample_revision,
    conversation: parseConversation(row.conversation),
    tags: parseStringArray(row.tags, 'dataset_version_samples.tags'),
    split: row.split,
    rating: row.rating,
    contentHash: row.content_hash
  }
}

/** A sample's revisable state as the columns store it (canonical JSON, normalised tags). */
function stateParams(state: Required<SampleChange>): SampleStateParams {
  return {
    conversation: canonicalJson(state.conversation),
    tags: JSON.stringify(normaliseTags(state.tags)),
    split: state.split,
    rating: state.rating
  }
}

function sameState(a: SampleStateParams, b: SampleStateParams): boolean {
  return (
    a.conversation === b.conversation && a.tags === b.tags && a.split === b.split && a.rating === b.rating
  )
}

/**
 * What a version's content hash covers, in sample order: each sample's conversation hash and the
 * split, tags and rating it was frozen with. Equal content gives an equal hash across datasets.
 */
function versionContentHash(rows: readonly SampleTableRow[]): string {
  const lines = rows.map((row) => `${row.content_hash}\t${row.split}\t${row.tags}\t${row.rating ?? ''}\n`)
  return sha256Hex(lines.join(''))
}

export function createDatasetsRepo(db: Database.Database) {
  registerSampleFunctions(db)
  const sql = prepareStatements(db)

  function get(id: number): DatasetSummary | null {
    const row = sql.getDataset.get(id)
    return row ? toDatasetSummary(row) : null
  }

  function requireDataset(operation: string, id: number): DatasetSummary {
    const dataset = get(id)
    if (!dataset) throw new StoreNotFoundError(`${operation}: no dataset with id ${id}`)
    return dataset
  }

  function rethrowDuplicateName(operation: string, name: string, error: unknown): never {
    if (isSqliteError(error, 'SQLITE_CONSTRAINT_UNIQUE')) {
      throw new StoreConflictError(`${operation}: a dataset named "${name}" already exists`)
    }
    throw error
  }

  function create(input: { name: string; description?: string }): DatasetSummary {
    try {
      const { id } = sql.insertDataset.get({ name: input.name, description: input.description ?? '' })!
      return get(id)!
    } catch (error) {
      return rethrowDuplicateName('datasets.create', input.name, error)
    }
  }

  function rename(id: number, name: string): DatasetSummary {
    requireDataset('datasets.rename', id)
    try {
      sql.renameDataset.run(name, id)
    } catch (error) {
      rethrowDuplicateName('datasets.rename', name, error)
    }
    return get(id)!
  }

  function setDescription(id: number, description: string): DatasetSummary {
    requireDataset('datasets.setDescription', id)
    sql.describeDataset.run(description, id)
    return get(id)!
  }

  /** Deletes the dataset with its samples and versions; refused while a run uses one of its versions. */
  function remove(id: number): boolean {
    try {
      return sql.deleteDataset.run(id).changes > 0
    } catch (error) {
      if (isSqliteError(error, 'SQLITE_CONSTRAINT_FOREIGNKEY')) {
        throw new StoreConflictError(
          `datasets.delete: dataset ${id} has versions that runs were trained on; delete those runs first`
        )
      }
      throw error
    }
  }

  function requireSample(operation: string, id: number): SampleTableRow {
    const row = sql.getSample.get(id)
    if (!row) throw new StoreNotFoundError(`${operation}: no sample with id ${id}`)
    return row
  }

  function insertSample(datasetId: number, sample: NewSample, by: RevisionAuthor): number {
    const state = stateParams({
      conversation: sample.conversation,
      tags: sample.tags ?? [],
      split: sample.split ?? 'train',
      rating: sample.rating ?? null
    })
    const { id } = sql.insertSample.get({
      ...state,
      datasetId,
      sourceFile: sample.sourceFile ?? null,
      sourceLine: sample.sourceLine ?? null,
      hash: conversationHash(sample.conversation)
    })!
    sql.insertRevision.run({
      ...state,
      sampleId: id,
      revision: 1,
      author: by.author ?? '',
      note: by.note ?? ''
    })
    return id
  }

  /** Adds samples in one transaction (all or none), each with its revision 1; returns their ids in order. */
  const addSamples = inTransaction(
    db,
    (datasetId: number, samples: readonly NewSample[], by: RevisionAuthor = {}): number[] => {
      requireDataset('datasets.addSamples', datasetId)
      const ids = samples.map((sample) => insertSample(datasetId, sample, by))
      sql.touchDataset.run(datasetId)
      return ids
    }
  )

  function getSample(id: number): SampleRecord | null {
    const row = sql.getSample.get(id)
    return row ? toSampleRecord(row) : null
  }

  function sampleFilter(datasetId: number, options: SampleListOptions) {
    return {
      datasetId,
      split: options.split ?? null,
      includeDeleted: options.includeDeleted ? (1 as const) : (0 as const),
      tag: options.tag ?? null
    }
  }

  function listSamples(datasetId: number, options: SampleListOptions = {}): SampleRecord[] {
    const order = options.orderBy ?? 'id'
    if (!Object.hasOwn(SAMPLE_ORDER_SQL, order)) {
      throw new Error(
        `datasets.listSamples: cannot order by "${order}"; use one of ${Object.keys(SAMPLE_ORDER_SQL)}`
      )
    }
    const params = { ...sampleFilter(datasetId, options), ...pageParams(options, 100) }
    return sql.listSamplesByOrder[order].all(params).map(toSampleRecord)
  }

  function countSamples(
    datasetId: number,
    options: Omit<SampleListOptions, 'orderBy' | 'limit' | 'offset'> = {}
  ) {
    return sql.countSamples.get(sampleFilter(datasetId, options))!.n
  }

  /** Writes `next` as the sample's newest revision, unless it equals the current state. */
  function writeRevision(current: SampleTableRow, next: SampleStateParams, by: RevisionAuthor): SampleRecord {
    const currentState: SampleStateParams = {
      conversation: current.conversation,
      tags: current.tags,
      split: current.split,
      rating: current.rating
    }
    if (sameState(currentState, next)) return toSampleRecord(current)
    materialiseImportedRevision(current)
    const revision = current.revision + 1
    if (next.conversation === current.conversation && next.split === current.split) {
      sql.updateSampleLabels.run({ tags: next.tags, rating: next.rating, id: current.id, revision })
    } else {
      // next.conversation is already canonical JSON, so this equals conversationHash().
      const hash = sha256Hex(next.conversation)
      sql.updateSampleState.run({ ...next, id: current.id, hash, revision })
    }
    sql.insertRevision.run({
      ...next,
      sampleId: current.id,
      revision,
      author: by.author ?? '',
      note: by.note ?? ''
    })
    sql.touchDataset.run(current.dataset_id)
    return getSample(current.id)!
  }

  function requireEditable(operation: string, id: number): SampleTableRow {
    const row = requireSample(operation, id)
    if (row.deleted_at !== null) {
      throw new StoreConflictError(`${operation}: sample ${id} is deleted; restore it first`)
    }
    return row
  }

  /** Applies a change as a new revision; fields left out keep their value. */
  const updateSample = inTransaction(
    db,
    (id: number, change: SampleChange, by: RevisionAuthor = {}): SampleRecord => {
      const row = requireEditable('datasets.updateSample', id)
      const current = toSampleRecord(row)
      const next = stateParams({
        conversation: change.conversation ?? current.conversation,
        tags: change.tags ?? current.tags,
        split: change.split ?? current.split,
        rating: change.rating === undefined ? current.rating : change.rating
      })
      return writeRevision(row, next, by)
    }
  )

  /**
   * An imported sample's revision 1 is its own row until it is first edited (see importedRevision);
   * the first edit writes that revision out, so the history stays complete.
   */
  function importedRevision(row: SampleTableRow): RevisionRow | null {
    if (row.revision !== 1 || sql.getRevision.get(row.id, 1)) return null
    return {
      id: 0,
      sample_id: row.id,
      revision: 1,
      conversation: row.conversation,
      tags: row.tags,
      split: row.split,
      rating: row.rating,
      author: IMPORT_AUTHOR,
      note: row.source_file ? `imported from ${row.source_file}` : 'imported',
      created_at: row.created_at
    }
  }

  function materialiseImportedRevision(row: SampleTableRow): void {
    const first = importedRevision(row)
    if (first) sql.insertRevisionAt.run({ ...first, sampleId: row.id })
  }

  function revisions(sampleId: number): SampleRevision[] {
    const rows = sql.listRevisions.all(sampleId)
    if (rows.length > 0) return rows.map(toSampleRevision)
    const sample = sql.getSample.get(sampleId)
    const first = sample ? importedRevision(sample) : null
    return first ? [toSampleRevision(first)] : []
  }

  /** Undo: a new revision equal to an old one, so the history of edits stays complete. */
  const revertSample = inTransaction(
    db,
    (id: number, revision: number, by: RevisionAuthor = {}): SampleRecord => {
      const current = requireEditable('datasets.revertSample', id)
      const old = sql.getRevision.get(id, revision) ?? (revision === 1 ? importedRevision(current) : null)
      if (!old) {
        throw new StoreNotFoundError(`datasets.revertSample: sample ${id} has no revision ${revision}`)
      }
      const next = { conversation: old.conversation, tags: old.tags, split: old.split, rating: old.rating }
      return writeRevision(current, next, {
        author: by.author,
        note: by.note ?? `revert to revision ${revision}`
      })
    }
  )

  /** Hides a sample from lists and new versions; the next cutVersion purges it for good. */
  function softDeleteSample(id: number): SampleRecord {
    requireSample('datasets.softDeleteSample', id)
    sql.softDeleteSample.run(id)
    return getSample(id)!
  }

  function restoreSample(id: number): SampleRecord {
    requireSample('datasets.restoreSample', id)
    sql.restoreSample.run(id)
    return getSample(id)!
  }

  function freezeSamples(versionId: number, rows: readonly SampleTableRow[]): void {
    rows.forEach((row, position) =>
      sql.insertVersionSample.run({
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

  /**
   * Freezes the dataset's live samples as its next version and purges soft-deleted ones (their
   * content survives only in earlier versions that froze it).
   */
  const cutVersion = inTransaction(db, (datasetId: number, note: string = ''): DatasetVersion => {
    requireDataset('datasets.cutVersion', datasetId)
    sql.purgeDeletedSamples.run(datasetId)
    const rows = sql.liveSamplesInOrder.all(datasetId)
    const version = (sql.maxVersion.get(datasetId)!.max ?? 0) + 1
    const hash = versionContentHash(rows)
    const { id } = sql.insertVersion.get({ datasetId, version, hash, sampleCount: rows.length, note })!
    freezeSamples(id, rows)
    sql.touchDataset.run(datasetId)
    return getVersion(id)!
  })

  function getVersion(id: number): DatasetVersion | null {
    const row = sql.getVersion.get(id)
    return row ? toDatasetVersion(row) : null
  }

  /** Newest first. */
  function listVersions(datasetId: number): DatasetVersion[] {
    return sql.listVersions.all(datasetId).map(toDatasetVersion)
  }

  /** The frozen samples in their order; every one unless a page is asked for. */
  function versionSamples(versionId: number, options: VersionSampleOptions = {}): VersionSample[] {
    const params = { versionId, split: options.split ?? null, ...pageParams(options, -1) }
    return sql.versionSamples.all(params).map(toVersionSample)
  }

  const curation = createCurationRepo(db, {
    get,
    updateSample,
    revertSample,
    softDeleteSample,
    restoreSample,
    revisions
  })

  return {
    ...curation,
    create,
    list: (): DatasetSummary[] => sql.listDatasets.all().map(toDatasetSummary),
    get,
    rename,
    setDescription,
    delete: remove,
    addSamples,
    getSample,
    listSamples,
    countSamples,
    updateSample,
    revisions,
    revertSample,
    softDeleteSample,
    restoreSample,
    cutVersion,
    getVersion,
    listVersions,
    versionSamples
  }
}

export type DatasetsRepo = ReturnType<typeof createDatasetsRepo>

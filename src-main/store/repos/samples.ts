/**
 * A dataset's samples and their history (tables samples and sample_revisions): adding, editing,
 * undo, soft deletion. Every edit writes the sample's next revision, so the history is complete;
 * an imported sample's revision 1 is its own row until its first edit (see importedRevision).
 */
import type Database from 'better-sqlite3'
import type { Conversation, SampleDetail, SampleRevisionInfo, Split } from '../../../src-preload/contract'
import { canonicalJson, sha256Hex } from '../../shared/canonical-json'
import { StoreConflictError, StoreNotFoundError } from '../errors'
import { parseJsonObject, parseStringArray } from '../json'
import type { DatasetTable } from './dataset-table'
import { NOW_SQL, inTransaction } from './sql'

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

/** The stored columns of a sample's revisable state (in samples, sample_revisions, dataset_version_samples). */
export interface StoredSampleState {
  conversation: string
  tags: string
  split: Split
  rating: number | null
}

/** A row of the samples table, as SQLite returns it. */
export interface SampleTableRow extends StoredSampleState {
  id: number
  dataset_id: number
  source_file: string | null
  source_line: number | null
  content_hash: string
  revision: number
  deleted_at: string | null
  created_at: string
  updated_at: string
}

interface RevisionRow extends StoredSampleState {
  id: number
  sample_id: number
  revision: number
  author: string
  note: string
  created_at: string
}

/** The author of the revision 1 of imported samples. */
const IMPORT_AUTHOR = 'import'

/** sha256 of the conversation's canonical JSON: equal conversations hash equal, whatever their key order. */
export function conversationHash(conversation: Conversation): string {
  return sha256Hex(canonicalJson(conversation))
}

/** Tags are a set: stored trimmed, without duplicates, sorted, so equal sets hash equal. */
export function normaliseTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((tag) => tag.trim()).filter((tag) => tag !== ''))].sort()
}

/** A stored sample state parsed; `table` names the table in the error a corrupt column raises. */
export function parseSampleState(row: StoredSampleState, table: string): Required<SampleChange> {
  return {
    conversation: parseJsonObject(row.conversation, `${table}.conversation`) as unknown as Conversation,
    tags: parseStringArray(row.tags, `${table}.tags`),
    split: row.split,
    rating: row.rating
  }
}

function prepareStatements(db: Database.Database) {
  return {
    insertSample: db.prepare<
      StoredSampleState & {
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
    updateSampleState: db.prepare<StoredSampleState & { id: number; hash: string; revision: number }>(
      `UPDATE samples SET conversation = @conversation, tags = @tags, split = @split, rating = @rating,
         content_hash = @hash, revision = @revision, updated_at = ${NOW_SQL}
       WHERE id = @id`
    ),
    // Tags and rating only: naming neither conversation nor split keeps the search index's update
    // trigger out of the statement, which makes it about three times cheaper (bulk tagging).
    updateSampleLabels: db.prepare<
      Pick<StoredSampleState, 'tags' | 'rating'> & { id: number; revision: number }
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
    insertRevision: db.prepare<
      StoredSampleState & { sampleId: number; revision: number; author: string; note: string }
    >(
      `INSERT INTO sample_revisions (sample_id, revision, conversation, tags, split, rating, author, note)
       VALUES (@sampleId, @revision, @conversation, @tags, @split, @rating, @author, @note)`
    ),
    insertRevisionAt: db.prepare<
      StoredSampleState & {
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
    )
  }
}

function toSampleRecord(row: SampleTableRow): SampleRecord {
  return {
    id: row.id,
    datasetId: row.dataset_id,
    ...parseSampleState(row, 'samples'),
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
    ...parseSampleState(row, 'sample_revisions'),
    author: row.author,
    note: row.note,
    createdAt: row.created_at
  }
}

/** A sample's revisable state as the columns store it (canonical JSON, normalised tags). */
function stateParams(state: Required<SampleChange>): StoredSampleState {
  return {
    conversation: canonicalJson(state.conversation),
    tags: JSON.stringify(normaliseTags(state.tags)),
    split: state.split,
    rating: state.rating
  }
}

function sameState(a: StoredSampleState, b: StoredSampleState): boolean {
  return (
    a.conversation === b.conversation && a.tags === b.tags && a.split === b.split && a.rating === b.rating
  )
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

/** What samples need from the rest of the repository. */
export interface SampleNeighbours {
  datasets: Pick<DatasetTable, 'requireDataset' | 'touch'>
  /** The sample as the samples table shows it (undo answers with it). */
  sampleDetail(sampleId: number): SampleDetail | null
}

export function createSamplesRepo(db: Database.Database, neighbours: SampleNeighbours) {
  const { datasets } = neighbours
  const statements = prepareStatements(db)

  function requireSample(operation: string, id: number): SampleTableRow {
    const row = statements.getSample.get(id)
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
    const { id } = statements.insertSample.get({
      ...state,
      datasetId,
      sourceFile: sample.sourceFile ?? null,
      sourceLine: sample.sourceLine ?? null,
      hash: conversationHash(sample.conversation)
    })!
    statements.insertRevision.run({
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
      datasets.requireDataset('datasets.addSamples', datasetId)
      const ids = samples.map((sample) => insertSample(datasetId, sample, by))
      datasets.touch(datasetId)
      return ids
    }
  )

  function getSample(id: number): SampleRecord | null {
    const row = statements.getSample.get(id)
    return row ? toSampleRecord(row) : null
  }

  /** Writes `next` as the sample's newest revision, unless it equals the current state. */
  function writeRevision(current: SampleTableRow, next: StoredSampleState, by: RevisionAuthor): SampleRecord {
    const currentState: StoredSampleState = {
      conversation: current.conversation,
      tags: current.tags,
      split: current.split,
      rating: current.rating
    }
    if (sameState(currentState, next)) return toSampleRecord(current)
    materialiseImportedRevision(current)
    const revision = current.revision + 1
    if (next.conversation === current.conversation && next.split === current.split) {
      statements.updateSampleLabels.run({ tags: next.tags, rating: next.rating, id: current.id, revision })
    } else {
      // next.conversation is already canonical JSON, so this equals conversationHash().
      const hash = sha256Hex(next.conversation)
      statements.updateSampleState.run({ ...next, id: current.id, hash, revision })
    }
    statements.insertRevision.run({
      ...next,
      sampleId: current.id,
      revision,
      author: by.author ?? '',
      note: by.note ?? ''
    })
    datasets.touch(current.dataset_id)
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
    if (row.revision !== 1 || statements.getRevision.get(row.id, 1)) return null
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
    if (first) statements.insertRevisionAt.run({ ...first, sampleId: row.id })
  }

  function revisions(sampleId: number): SampleRevision[] {
    const rows = statements.listRevisions.all(sampleId)
    if (rows.length > 0) return rows.map(toSampleRevision)
    const sample = statements.getSample.get(sampleId)
    const first = sample ? importedRevision(sample) : null
    return first ? [toSampleRevision(first)] : []
  }

  /** The revisions, each with the parts it changed from the one before. */
  function history(sampleId: number): SampleRevisionInfo[] {
    requireSample('datasets.sampleHistory', sampleId)
    const out: SampleRevisionInfo[] = []
    for (const revision of revisions(sampleId)) {
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

  /** Goes back to an old revision by writing a new one equal to it, so the history of edits stays complete. */
  const revertSample = inTransaction(
    db,
    (id: number, revision: number, by: RevisionAuthor = {}): SampleRecord => {
      const current = requireEditable('datasets.revertSample', id)
      const old =
        statements.getRevision.get(id, revision) ?? (revision === 1 ? importedRevision(current) : null)
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

  /** Undo: a new revision equal to the one before the current one. */
  function undoSample(sampleId: number, author: string): SampleDetail {
    const current = requireSample('datasets.undoSample', sampleId)
    if (current.revision <= 1) {
      throw new StoreConflictError(
        `datasets.undoSample: sample ${sampleId} has no earlier revision to go back to`
      )
    }
    revertSample(sampleId, current.revision - 1, { author, note: `undo revision ${current.revision}` })
    return neighbours.sampleDetail(sampleId)!
  }

  /** Hides a sample from lists and new versions; the next cutVersion purges it for good. */
  function softDeleteSample(id: number): SampleRecord {
    requireSample('datasets.softDeleteSample', id)
    statements.softDeleteSample.run(id)
    return getSample(id)!
  }

  function restoreSample(id: number): SampleRecord {
    requireSample('datasets.restoreSample', id)
    statements.restoreSample.run(id)
    return getSample(id)!
  }

  return {
    addSamples,
    getSample,
    updateSample,
    revisions,
    history,
    revertSample,
    undoSample,
    softDeleteSample,
    restoreSample
  }
}

export type SamplesRepo = ReturnType<typeof createSamplesRepo>

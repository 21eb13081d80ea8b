/**
 * Duplicate samples of a dataset: exact ones (equal content hashes, found by a query) and near
 * ones (found by a MinHash search in src-main/datasets, whose groups are kept in tables
 * near_duplicate_searches and near_duplicate_members until the next search).
 */
import type Database from 'better-sqlite3'
import type { DuplicateGroup, DuplicateReport } from '../../../src-preload/contract'
import type { DatasetTable } from './dataset-table'
import { staticText } from '../sql-template'
import { preview } from './sample-browse'
import { FIRST_USER_CONTENT_SQL } from './sample-query'
import { inTransaction } from './sql'

function prepareStatements(db: Database.Database) {
  return {
    exactGroups: db.prepare<[number], { content_hash: string; ids: string }>(
      `SELECT content_hash, group_concat(id) AS ids FROM (
         SELECT id, content_hash FROM samples WHERE dataset_id = ? AND deleted_at IS NULL ORDER BY id)
       GROUP BY content_hash HAVING count(*) > 1 ORDER BY min(id)`
    ),
    promptOf: db
      .prepare<[number], string | null>(
        `SELECT ${staticText(FIRST_USER_CONTENT_SQL)} AS prompt FROM samples s WHERE s.id = ?`
      )
      .pluck(),
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
    )
  }
}

export function createDuplicatesRepo(db: Database.Database, datasets: Pick<DatasetTable, 'requireDataset'>) {
  const statements = prepareStatements(db)

  function groupPrompt(sampleId: number): string {
    return preview(statements.promptOf.get(sampleId) ?? '')
  }

  function report(
    kind: DuplicateReport['kind'],
    groups: DuplicateGroup[],
    search: { threshold: number; created_at: string } | undefined
  ): DuplicateReport {
    return {
      kind,
      groups,
      sampleCount: groups.reduce((n, g) => n + g.sampleIds.length, 0),
      threshold: search?.threshold ?? null,
      createdAt: search?.created_at ?? null
    }
  }

  function exactDuplicates(datasetId: number): DuplicateReport {
    datasets.requireDataset('datasets.duplicates', datasetId)
    const groups: DuplicateGroup[] = statements.exactGroups.all(datasetId).map((row) => {
      const sampleIds = row.ids.split(',').map(Number)
      return { kind: 'exact', sampleIds, similarity: 1, prompt: groupPrompt(sampleIds[0]) }
    })
    return report('exact', groups, undefined)
  }

  /** The stored near-duplicate groups, without samples deleted since (groups left with one drop out). */
  function nearDuplicates(datasetId: number): DuplicateReport {
    datasets.requireDataset('datasets.duplicates', datasetId)
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
    return report('near', groups, statements.nearSearch.get(datasetId))
  }

  /** Replaces the dataset's near-duplicate groups with a new search's result. */
  const saveNearDuplicates = inTransaction(
    db,
    (
      datasetId: number,
      settings: { threshold: number; shingleWords: number; numHashes: number },
      groups: readonly { sampleIds: readonly number[]; similarity: number }[]
    ): void => {
      datasets.requireDataset('datasets.findNearDuplicates', datasetId)
      statements.clearNear.run(datasetId)
      statements.insertNearSearch.run({ datasetId, ...settings })
      groups.forEach((group, index) => {
        for (const sampleId of group.sampleIds) {
          statements.insertNearMember.run({ datasetId, group: index, sampleId, similarity: group.similarity })
        }
      })
    }
  )

  return { exactDuplicates, nearDuplicates, saveNearDuplicates }
}

/**
 * Changing many samples' labels at once: tags, ratings, splits and deletion, as bulk actions on a
 * selection and as split assignments. Each changed sample gets its own revision (samples.ts), and
 * a batch is all or none.
 */
import type Database from 'better-sqlite3'
import type { BulkAction, Split } from '../../../src-preload/contract'
import { StoreNotFoundError } from '../errors'
import type { DatasetTable } from './dataset-table'
import type { SamplesRepo } from './samples'
import { inTransaction } from './sql'

type SampleEdits = Pick<SamplesRepo, 'getSample' | 'updateSample' | 'softDeleteSample' | 'restoreSample'>

/** The change a label action makes to a live sample with these tags. */
function labelChange(
  action: Exclude<BulkAction, { kind: 'delete' | 'restore' }>,
  tags: readonly string[]
): { tags?: string[]; split?: Split; rating?: number | null } {
  switch (action.kind) {
    case 'tag':
      return { tags: [...tags, ...action.tags] }
    case 'untag':
      return { tags: tags.filter((tag) => !action.tags.includes(tag)) }
    case 'setSplit':
      return { split: action.split }
    case 'rate':
      return { rating: action.rating }
  }
}

export function createSampleLabelsRepo(
  db: Database.Database,
  datasets: Pick<DatasetTable, 'requireDataset' | 'touch'>,
  samples: SampleEdits
) {
  // What a bulk action needs of a sample; the whole sample costs far more on large selections.
  const labelsOf = db.prepare<
    [number],
    { dataset_id: number; deleted_at: string | null; tags: string; revision: number }
  >('SELECT dataset_id, deleted_at, tags, revision FROM samples WHERE id = ?')

  /** Applies one action to many samples of a dataset, all or none; returns how many changed. */
  const bulk = inTransaction(
    db,
    (datasetId: number, sampleIds: readonly number[], action: BulkAction, author: string): number => {
      datasets.requireDataset('datasets.bulk', datasetId)
      let changed = 0
      for (const id of new Set(sampleIds)) {
        const owner = labelsOf.get(id)
        if (!owner || owner.dataset_id !== datasetId) {
          throw new StoreNotFoundError(`datasets.bulk: dataset ${datasetId} has no sample with id ${id}`)
        }
        if (action.kind === 'delete' || action.kind === 'restore') {
          const deleting = action.kind === 'delete'
          if ((owner.deleted_at !== null) === deleting) continue
          if (deleting) samples.softDeleteSample(id)
          else samples.restoreSample(id)
          changed++
          continue
        }
        if (owner.deleted_at !== null) continue
        const change = labelChange(action, JSON.parse(owner.tags) as string[])
        const { revision } = samples.updateSample(id, change, { author, note: `bulk ${action.kind}` })
        if (revision !== owner.revision) changed++
      }
      if (changed > 0) datasets.touch(datasetId)
      return changed
    }
  )

  /** Sets the split of each given sample (one revision each where it changes). */
  const assignSplits = inTransaction(
    db,
    (datasetId: number, assignments: ReadonlyMap<number, Split>, author: string, note: string): number => {
      datasets.requireDataset('datasets.assignSplits', datasetId)
      let changed = 0
      for (const [id, split] of assignments) {
        const before = samples.getSample(id)
        if (!before) throw new StoreNotFoundError(`datasets.assignSplits: no sample with id ${id}`)
        if (before.datasetId !== datasetId) {
          throw new StoreNotFoundError(
            `datasets.assignSplits: dataset ${datasetId} has no sample with id ${id}`
          )
        }
        if (before.split === split) continue
        samples.updateSample(id, { split }, { author, note })
        changed++
      }
      return changed
    }
  )

  return { bulk, assignSplits }
}

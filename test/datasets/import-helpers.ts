import type { ImportRequest } from '../../src-main/datasets/import'
import { detectFileType } from '../../src-main/datasets/sources'
import type { Store } from '../../src-main/store'
import type { ImportMapping } from '../../src-preload/contract'

/** An import of `file` into a new dataset "data", aborting on bad rows, unless `extra` says otherwise. */
export function importRequest(
  file: string,
  mapping: ImportMapping,
  extra: Partial<ImportRequest> = {}
): ImportRequest {
  return {
    file,
    fileType: detectFileType(file),
    mapping,
    datasetName: 'data',
    split: 'train',
    tags: [],
    onBadRows: 'abort',
    cutVersion: false,
    note: '',
    ...extra
  }
}

/** Samples in the store, of every dataset, hidden ones included. */
export function sampleCount(store: Store): number {
  return store.db.prepare('SELECT count(*) FROM samples').pluck().get() as number
}

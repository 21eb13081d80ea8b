/**
 * datasets.export without a path: the JSONL file goes into the store (`<store>/exports/<id>/`) and
 * is recorded as an export of its dataset or version, so the served UI can offer it for download
 * (server/download.ts) like any other export.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { ParsedInput } from '../../src-preload/contract'
import { notFound } from './errors'
import { fileNameFrom, storeExportFolder } from './exports'
import type { RequestContext } from './handlers'

export interface StoreDatasetExport {
  exportId: number
  path: string
}

/** Records the export (running) and names its file in the store. */
export function startStoreDatasetExport(
  ctx: RequestContext,
  input: ParsedInput<'datasets.export'>
): StoreDatasetExport {
  const version = input.versionId === undefined ? null : ctx.store.datasets.getVersion(input.versionId)
  const datasetId = version?.datasetId ?? input.datasetId!
  const dataset = ctx.store.datasets.get(datasetId)
  if (!dataset) throw notFound('dataset', datasetId)
  const label = version ? `${dataset.name} v${version.version}` : `${dataset.name} (live samples)`
  const record = ctx.store.exports.add({
    sourceKind: 'dataset',
    datasetId,
    datasetVersionId: version?.id ?? null,
    sourceLabel: label,
    format: 'jsonl',
    variant: input.format,
    inStore: true
  })
  const path = join(
    storeExportFolder(ctx.store.dir, record.id),
    `${fileNameFrom(`${label}-${input.format}`)}.jsonl`
  )
  mkdirSync(storeExportFolder(ctx.store.dir, record.id), { recursive: true })
  ctx.store.exports.started(record.id, path, null)
  return { exportId: record.id, path }
}

/** Completes the record with the file's size, or marks it failed and removes its folder. */
export function finishStoreDatasetExport(
  ctx: RequestContext,
  started: StoreDatasetExport,
  error?: unknown
): void {
  if (error === undefined) {
    ctx.store.exports.finish(started.exportId, { status: 'completed', bytes: statSync(started.path).size })
    return
  }
  ctx.store.exports.finish(started.exportId, {
    status: 'failed',
    error: error instanceof Error ? error.message : String(error)
  })
  rmSync(storeExportFolder(ctx.store.dir, started.exportId), { recursive: true, force: true })
}

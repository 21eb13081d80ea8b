import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { ImportAbortedError, importMessagesJsonl } from '../datasets/import-messages'
import { ApiError, notFound } from './errors'
import type { DatasetSummary } from '../../src-preload/contract'
import type { Handlers, RequestContext } from './handlers'

function checkFile(operation: string, path: string): string {
  const file = resolve(path)
  if (!existsSync(file) || !statSync(file).isFile())
    throw new ApiError('invalid_input', `${operation}: ${file} is not a file`)
  return file
}

/** The dataset an import goes into: the one named by id, or the one with that name (created if new). */
function targetDataset(
  ctx: RequestContext,
  input: { datasetId?: number; datasetName?: string }
): DatasetSummary {
  const { datasets } = ctx.store
  if (input.datasetId !== undefined) {
    const dataset = datasets.get(input.datasetId)
    if (!dataset) throw notFound('dataset', input.datasetId)
    return dataset
  }
  const name = input.datasetName!
  const existing = datasets.list().find((d) => d.name.toLowerCase() === name.toLowerCase())
  return existing ?? datasets.create({ name, description: '' })
}

export const datasetHandlers: Pick<
  Handlers,
  'datasets.list' | 'datasets.create' | 'datasets.import' | 'datasets.cutVersion' | 'datasets.versions'
> = {
  'datasets.list': (_input, ctx) => ctx.store.datasets.list(),
  'datasets.create': (input, ctx) => ctx.store.datasets.create(input),
  'datasets.import': (input, ctx) => {
    const file = checkFile('datasets.import', input.path)
    const { datasets } = ctx.store
    const run = ctx.store.db.transaction(() => {
      const dataset = targetDataset(ctx, input)
      const outcome = importMessagesJsonl(ctx.store, {
        datasetId: dataset.id,
        file,
        split: input.split,
        onBadRows: input.onBadRows
      })
      const version = input.cutVersion ? datasets.cutVersion(dataset.id, input.note) : null
      return {
        dataset: datasets.get(dataset.id)!,
        imported: outcome.imported,
        badRows: outcome.badRows,
        version
      }
    })
    try {
      return run()
    } catch (err) {
      if (err instanceof ImportAbortedError)
        throw new ApiError('invalid_input', err.message, { badRows: err.badRows })
      throw err
    }
  },
  'datasets.cutVersion': (input, ctx) => {
    if (!ctx.store.datasets.get(input.id)) throw notFound('dataset', input.id)
    return ctx.store.datasets.cutVersion(input.id, input.note)
  },
  'datasets.versions': (input, ctx) => {
    if (!ctx.store.datasets.get(input.id)) throw notFound('dataset', input.id)
    return ctx.store.datasets.listVersions(input.id)
  }
}

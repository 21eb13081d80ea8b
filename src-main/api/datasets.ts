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

const notYet = (name: string) => () => {
  throw new ApiError('failed', `${name}: not implemented yet`)
}

type DatasetCalls = Extract<keyof Handlers, `datasets.${string}`>

export const datasetHandlers: Pick<Handlers, DatasetCalls> = {
  'datasets.list': (_input, ctx) => ctx.store.datasets.list(),
  'datasets.create': (input, ctx) => ctx.store.datasets.create(input),
  'datasets.get': notYet('datasets.get'),
  'datasets.update': notYet('datasets.update'),
  'datasets.delete': notYet('datasets.delete'),
  'datasets.previewImport': notYet('datasets.previewImport'),
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
        jobId: '',
        dataset: datasets.get(dataset.id)!,
        imported: outcome.imported,
        fileType: 'jsonl' as const,
        mapping: { format: 'messages' as const, columns: { messages: 'messages' } },
        badRows: outcome.badRows,
        badRowCount: outcome.badRows.length,
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
  },
  'datasets.samples': notYet('datasets.samples'),
  'datasets.sampleIds': notYet('datasets.sampleIds'),
  'datasets.sample': notYet('datasets.sample'),
  'datasets.addSample': notYet('datasets.addSample'),
  'datasets.updateSample': notYet('datasets.updateSample'),
  'datasets.undoSample': notYet('datasets.undoSample'),
  'datasets.revertSample': notYet('datasets.revertSample'),
  'datasets.sampleHistory': notYet('datasets.sampleHistory'),
  'datasets.bulk': notYet('datasets.bulk'),
  'datasets.duplicates': notYet('datasets.duplicates'),
  'datasets.findNearDuplicates': notYet('datasets.findNearDuplicates'),
  'datasets.stats': notYet('datasets.stats'),
  'datasets.countTokens': notYet('datasets.countTokens'),
  'datasets.templatePreview': notYet('datasets.templatePreview'),
  'datasets.preflight': notYet('datasets.preflight'),
  'datasets.assignSplits': notYet('datasets.assignSplits'),
  'datasets.versionSamples': notYet('datasets.versionSamples'),
  'datasets.export': notYet('datasets.export')
}

/**
 * The datasets.* calls. Quick ones run here against the store; long ones (import, token counts,
 * pre-flight, near duplicates, export) run as jobs in a worker with its own store connection, and
 * the call answers when its job ends, so the main thread keeps serving every client meanwhile.
 */
import { existsSync, statSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import type {
  Conversation,
  ImportFileType,
  ImportResult,
  ParsedInput,
  SampleFilter
} from '../../src-preload/contract'
import { abortMessage, type ImportOutcome, type ImportRequest } from '../datasets/import'
import { previewImport } from '../datasets/import-preview'
import { checkMapping } from '../datasets/import-mapping'
import { checkConversation } from '../datasets/normalise'
import { RowError } from '../datasets/raw-values'
import { detectFileType, SourceFileError } from '../datasets/sources'
import { cachedTokenizer, renderSample, trainedTokenCount } from '../datasets/template'
import {
  assignDatasetSplits,
  bulkEdit,
  LARGE_EDIT_SAMPLES,
  type ExportOutcome,
  type PreflightOutcome
} from '../datasets/work'
import { readModelConfig } from '../engine/checkpoint/hf-config'
import { defaultModelDir } from '../resources'
import { inTransaction } from '../store/repos/sql'
import { compileUserRegex, UserRegexError } from '../store/user-regex'
import { ApiError, notFound } from './errors'
import { finishStoreDatasetExport, startStoreDatasetExport } from './exports-datasets'
import type { Handlers, RequestContext } from './handlers'
import { checkOutputFile } from './write-paths'

function checkFile(operation: string, path: string): string {
  const file = resolve(path)
  if (!existsSync(file) || !statSync(file).isFile())
    throw new ApiError('invalid_input', `${operation}: ${file} is not a file`)
  return file
}

function requireDataset(ctx: RequestContext, id: number): void {
  if (!ctx.store.datasets.exists(id)) throw notFound('dataset', id)
}

/** Runs a dataset job and waits for it; its failure becomes the call's error. */
async function runJob<T>(
  ctx: RequestContext,
  kind: string,
  operation: string,
  input: object
): Promise<{ jobId: string; value: T }> {
  // A lane of their own: dataset work never waits behind a training run or a model registration.
  const job = ctx.jobs.submit(kind, { storeDir: ctx.store.dir, ...input }, { lane: 'datasets' })
  const done = await ctx.jobs.wait(job.id)
  if (done.status === 'cancelled') throw new ApiError('failed', `${operation}: cancelled`)
  if (done.status !== 'completed') throw new ApiError('failed', done.error ?? `${operation}: the job failed`)
  return { jobId: job.id, value: done.result as T }
}

/** A base model's tokenizer (and chat template), or the embedded default model's. */
function tokenizerChoice(
  ctx: RequestContext,
  baseModelId: number | undefined
): { key: string; label: string; dir: string } {
  if (baseModelId === undefined) {
    const dir = defaultModelDir()
    return { key: 'default', label: `${basename(dir)} (default)`, dir }
  }
  const model = ctx.store.models.get(baseModelId)
  if (!model) throw notFound('base model', baseModelId)
  return { key: `model:${baseModelId}`, label: model.name, dir: model.path }
}

/** The longest sample a run of this model can train on: its positions (max_position_embeddings). */
function trainableLength(choice: { label: string; dir: string }): number {
  try {
    return readModelConfig(choice.dir).maxPositionEmbeddings
  } catch (error) {
    throw new ApiError('failed', `datasets.preflight: ${choice.label}: ${(error as Error).message}`)
  }
}

function tokenizerLabel(ctx: RequestContext, key: string): string {
  if (key === 'default') return tokenizerChoice(ctx, undefined).label
  const id = Number(/^model:(\d+)$/.exec(key)?.[1])
  return (Number.isInteger(id) && ctx.store.models.get(id)?.name) || key
}

/** A bad pattern is the caller's error, said before any query runs it. */
function checkRegex(operation: string, filter: SampleFilter): void {
  if (filter.regex === undefined) return
  try {
    compileUserRegex(filter.regex, filter.regexFlags ?? '')
  } catch (error) {
    if (!(error instanceof UserRegexError)) throw error
    throw new ApiError('invalid_input', `${operation}: filter.regex: ${error.message}`)
  }
}

/** A conversation from an editor must still be something to train on. */
function checkEdited(operation: string, conversation: Conversation): void {
  try {
    checkConversation(conversation)
  } catch (error) {
    if (error instanceof RowError) throw new ApiError('invalid_input', `${operation}: ${error.message}`)
    throw error
  }
}

type ImportInput = ParsedInput<'datasets.import'>

/** File type and mapping of an import, decided here so that a wrong file fails at once, not in a job. */
async function resolveImport(file: string, input: ImportInput) {
  const fileType: ImportFileType = input.fileType === 'auto' ? detectFileType(file) : input.fileType
  let mapping = input.mapping
  if (!mapping) {
    const preview = await previewImport({
      file,
      fileType,
      format: input.format,
      limit: 1,
      textUnit: input.textUnit
    })
    if (!preview.mapping) {
      throw new ApiError(
        'invalid_input',
        `datasets.import: cannot tell the format of ${basename(file)}: ${preview.notes.join('; ')}`,
        { columns: preview.columns }
      )
    }
    mapping = preview.mapping
  }
  const problem = checkMapping(mapping)
  if (problem) throw new ApiError('invalid_input', `datasets.import: ${problem}`)
  return { fileType, mapping }
}

async function importHandler(input: ImportInput, ctx: RequestContext): Promise<ImportResult> {
  const file = checkFile('datasets.import', input.path)
  if (input.datasetId !== undefined) requireDataset(ctx, input.datasetId)
  let resolved
  try {
    resolved = await resolveImport(file, input)
  } catch (error) {
    if (error instanceof SourceFileError)
      throw new ApiError('invalid_input', `datasets.import: ${error.message}`)
    throw error
  }
  const request: ImportRequest = {
    file,
    ...resolved,
    textUnit: input.textUnit,
    datasetId: input.datasetId,
    datasetName: input.datasetName,
    split: input.split,
    tags: input.tags,
    onBadRows: input.onBadRows,
    cutVersion: input.cutVersion,
    note: input.note
  }
  const { jobId, value } = await runJob<ImportOutcome>(ctx, 'dataset.import', 'datasets.import', request)
  // A large import committed before its samples were indexed for search; catch up in the background.
  if (value.ok) ctx.searchIndex.ensure()
  if (!value.ok) {
    throw new ApiError('invalid_input', value.message || abortMessage(value.badRows, value.badRowCount), {
      badRows: value.badRows,
      badRowCount: value.badRowCount,
      goodRowCount: value.goodRowCount
    })
  }
  const version = value.versionId === null ? null : ctx.store.datasets.getVersion(value.versionId)
  return {
    jobId,
    dataset: ctx.store.datasets.get(value.datasetId)!,
    imported: value.imported,
    fileType: resolved.fileType,
    mapping: resolved.mapping,
    badRows: value.badRows,
    badRowCount: value.badRowCount,
    warnings: value.warnings,
    version
  }
}

type DatasetCalls = Extract<keyof Handlers, `datasets.${string}`>

export const datasetHandlers: Pick<Handlers, DatasetCalls> = {
  'datasets.list': (_input, ctx) => ctx.store.datasets.list(),
  'datasets.create': (input, ctx) => ctx.store.datasets.create(input),
  'datasets.get': (input, ctx) => {
    const detail = ctx.store.datasets.detail(input.id)
    if (!detail) throw notFound('dataset', input.id)
    return detail
  },
  'datasets.update': (input, ctx) => {
    requireDataset(ctx, input.id)
    inTransaction(ctx.store.db, () => {
      if (input.name !== undefined) ctx.store.datasets.rename(input.id, input.name)
      if (input.description !== undefined) ctx.store.datasets.setDescription(input.id, input.description)
    })()
    return ctx.store.datasets.get(input.id)!
  },
  'datasets.delete': (input, ctx) => ({ deleted: ctx.store.datasets.delete(input.id) }),

  'datasets.previewImport': async (input) => {
    const file = checkFile('datasets.previewImport', input.path)
    try {
      return await previewImport({ ...input, file })
    } catch (error) {
      if (error instanceof SourceFileError) {
        throw new ApiError('invalid_input', `datasets.previewImport: ${error.message}`)
      }
      throw error
    }
  },
  'datasets.import': importHandler,
  'datasets.cutVersion': (input, ctx) => {
    requireDataset(ctx, input.id)
    return ctx.store.datasets.cutVersion(input.id, input.note)
  },
  'datasets.versions': (input, ctx) => {
    requireDataset(ctx, input.id)
    return ctx.store.datasets.listVersions(input.id)
  },
  'datasets.versionSamples': (input, ctx) => {
    const version = ctx.store.datasets.getVersion(input.versionId)
    if (!version) throw notFound('dataset version', input.versionId)
    const rows = ctx.store.datasets.versionSamples(input.versionId, input)
    const total =
      input.split === undefined
        ? version.sampleCount
        : ctx.store.db
            .prepare<[number, string], number>(
              'SELECT count(*) FROM dataset_version_samples WHERE version_id = ? AND split = ?'
            )
            .pluck()
            .get(input.versionId, input.split)!
    return { total, offset: input.offset, rows }
  },

  'datasets.samples': (input, ctx) => {
    checkRegex('datasets.samples', input.filter)
    const page = ctx.store.datasets.querySamples(input.id, input)
    const unindexed = input.filter.search === undefined ? 0 : ctx.store.searchIndex.unindexedSamples(input.id)
    return { ...page, unindexed }
  },
  'datasets.sampleIds': (input, ctx) => {
    checkRegex('datasets.sampleIds', input.filter)
    return ctx.store.datasets.sampleIds(input.id, input.filter)
  },
  'datasets.sample': (input, ctx) => {
    const sample = ctx.store.datasets.sampleDetail(input.sampleId, input.tokenizer ?? null)
    if (!sample) throw notFound('sample', input.sampleId)
    return sample
  },
  'datasets.addSample': (input, ctx) => {
    requireDataset(ctx, input.id)
    checkEdited('datasets.addSample', input.conversation)
    const [id] = ctx.store.datasets.addSamples(
      input.id,
      [{ conversation: input.conversation, split: input.split, tags: input.tags }],
      { author: input.author, note: 'written by hand' }
    )
    return ctx.store.datasets.sampleDetail(id)!
  },
  'datasets.updateSample': (input, ctx) => {
    if (input.conversation) checkEdited('datasets.updateSample', input.conversation)
    ctx.store.datasets.updateSample(
      input.sampleId,
      { conversation: input.conversation, tags: input.tags, split: input.split, rating: input.rating },
      { author: input.author, note: input.note }
    )
    return ctx.store.datasets.sampleDetail(input.sampleId)!
  },
  'datasets.undoSample': (input, ctx) => ctx.store.datasets.undoSample(input.sampleId, input.author),
  'datasets.revertSample': (input, ctx) => {
    ctx.store.datasets.revertSample(input.sampleId, input.revision, { author: input.author })
    return ctx.store.datasets.sampleDetail(input.sampleId)!
  },
  'datasets.sampleHistory': (input, ctx) => ctx.store.datasets.history(input.sampleId),
  'datasets.bulk': async (input, ctx) => {
    const request = {
      datasetId: input.id,
      sampleIds: input.sampleIds,
      action: input.action,
      author: input.author
    }
    if (input.sampleIds.length < LARGE_EDIT_SAMPLES) return bulkEdit(ctx.store, request)
    requireDataset(ctx, input.id)
    return (await runJob<{ changed: number }>(ctx, 'dataset.bulk', 'datasets.bulk', request)).value
  },

  'datasets.duplicates': (input, ctx) =>
    input.kind === 'exact'
      ? ctx.store.datasets.exactDuplicates(input.id)
      : ctx.store.datasets.nearDuplicates(input.id),
  'datasets.findNearDuplicates': async (input, ctx) => {
    requireDataset(ctx, input.id)
    const { jobId } = await runJob(ctx, 'dataset.near-duplicates', 'datasets.findNearDuplicates', {
      datasetId: input.id,
      threshold: input.threshold,
      shingleWords: input.shingleWords,
      numHashes: input.numHashes
    })
    return { ...ctx.store.datasets.nearDuplicates(input.id), jobId }
  },

  'datasets.stats': (input, ctx) => {
    const stats = ctx.store.datasets.stats(input.id, input.tokenizer ?? null, input.bins)
    return {
      ...stats,
      tokenizers: stats.tokenizers.map((t) => ({ ...t, label: tokenizerLabel(ctx, t.tokenizer) }))
    }
  },
  'datasets.countTokens': async (input, ctx) => {
    requireDataset(ctx, input.id)
    const choice = tokenizerChoice(ctx, input.baseModelId)
    const { jobId, value } = await runJob<{ counted: number }>(
      ctx,
      'dataset.count-tokens',
      'datasets.countTokens',
      {
        datasetId: input.id,
        tokenizerKey: choice.key,
        modelDir: choice.dir
      }
    )
    return { jobId, tokenizer: choice.key, label: choice.label, counted: value.counted }
  },
  'datasets.templatePreview': (input, ctx) => {
    let conversation = input.conversation
    if (input.sampleId !== undefined) {
      const sample = ctx.store.datasets.getSample(input.sampleId)
      if (!sample) throw notFound('sample', input.sampleId)
      conversation = sample.conversation
    }
    const choice = tokenizerChoice(ctx, input.baseModelId)
    try {
      const rendered = renderSample(cachedTokenizer(choice.dir), conversation!, input.side)
      const [whole, ...more] = rendered.sequences
      return {
        text: whole.text,
        spans: whole.spans,
        tokenCount: whole.inputIds.length,
        trainedTokenCount: rendered.sequences.reduce(
          (n, sequence) => n + trainedTokenCount(sequence.labels),
          0
        ),
        template: rendered.template,
        model: choice.label,
        moreSequences: more.map(({ text, spans }) => ({ text, spans })),
        drops: rendered.drops.map((drop) => drop.detail)
      }
    } catch (error) {
      throw new ApiError('failed', `datasets.templatePreview: ${(error as Error).message}`)
    }
  },
  'datasets.preflight': async (input, ctx) => {
    requireDataset(ctx, input.id)
    const choice = tokenizerChoice(ctx, input.baseModelId)
    const contextLength = trainableLength(choice)
    const maxLength = input.maxLength ?? contextLength
    if (maxLength > contextLength) {
      throw new ApiError(
        'invalid_input',
        `datasets.preflight: ${choice.label} trains on at most ${contextLength} tokens (its context), not ${maxLength}`
      )
    }
    const { jobId, value } = await runJob<PreflightOutcome>(ctx, 'dataset.preflight', 'datasets.preflight', {
      datasetId: input.id,
      modelDir: choice.dir,
      maxLength
    })
    return { jobId, maxLength, model: choice.label, contextLength, ...value }
  },
  'datasets.assignSplits': async (input, ctx) => {
    checkRegex('datasets.assignSplits', input.filter)
    const { id: datasetId, ...options } = input
    const request = { datasetId, ...options }
    const detail = ctx.store.datasets.detail(datasetId)
    if (!detail) throw notFound('dataset', datasetId)
    if (detail.sampleCount < LARGE_EDIT_SAMPLES) return assignDatasetSplits(ctx.store, request)
    const job = await runJob<ReturnType<typeof assignDatasetSplits>>(
      ctx,
      'dataset.assign-splits',
      'datasets.assignSplits',
      request
    )
    return job.value
  },
  'datasets.export': async (input, ctx) => {
    if (input.versionId !== undefined && !ctx.store.datasets.getVersion(input.versionId)) {
      throw notFound('dataset version', input.versionId)
    }
    if (input.datasetId !== undefined) requireDataset(ctx, input.datasetId)
    checkRegex('datasets.export', input.filter)
    const inStore = input.path === undefined ? startStoreDatasetExport(ctx, input) : null
    const path =
      inStore?.path ??
      checkOutputFile('datasets.export', ctx.store.dir, input.path!, {
        overwrite: input.overwrite,
        overwriteFlag: 'overwrite'
      })
    const source =
      input.versionId !== undefined
        ? { versionId: input.versionId }
        : { datasetId: input.datasetId!, filter: input.filter }
    const job = runJob<ExportOutcome>(ctx, 'dataset.export', 'datasets.export', {
      source,
      format: input.format,
      path,
      overwrite: input.overwrite
    })
    if (!inStore) {
      const { jobId, value } = await job
      return { jobId, path, exportId: null, ...value }
    }
    try {
      const { jobId, value } = await job
      finishStoreDatasetExport(ctx, inStore)
      return { jobId, path, exportId: inStore.exportId, ...value }
    } catch (error) {
      finishStoreDatasetExport(ctx, inStore, error)
      throw error
    }
  }
}

/**
 * Models users already have (contract/model-library.ts): discovery in the HF cache and watched
 * folders, a model's page, and taking a model off the list. The folders are read in jobs
 * (model-validation.ts says why); what the store knows is joined on this thread.
 */
import { statSync } from 'node:fs'
import { resolve } from 'node:path'
import type { ModelDiscovery, ModelEvaluationLink, ModelFolderFacts } from '../../src-preload/contract'
import { MODEL_DESCRIBE_JOB, type ModelDescribeInput } from '../jobs/kinds/model-describe'
import { MODEL_DISCOVER_JOB } from '../jobs/kinds/model-discover'
import type { DiscoveryInput } from '../models/discovery'
import { hfHubCacheDir } from '../models/hf-cache'
import { ApiError, notFound } from './errors'
import type { Handlers, RequestContext } from './handlers'
import { contextLengthOf } from './models'
import { modelFolderJob } from './model-validation'

async function discover(ctx: RequestContext): Promise<ModelDiscovery> {
  const input: DiscoveryInput = { hfCacheDir: hfHubCacheDir(), folders: ctx.store.modelFolders.list() }
  const found = await modelFolderJob<ModelDiscovery>(ctx, MODEL_DISCOVER_JOB, input, 'models.discover')
  const registered = new Map(ctx.store.models.list().map((model) => [model.path, model.id]))
  return {
    ...found,
    models: found.models.map((model) => ({ ...model, registeredModelId: registered.get(model.path) ?? null }))
  }
}

function addFolder(ctx: RequestContext, path: string): string[] {
  const dir = resolve(path)
  let isDirectory = false
  try {
    isDirectory = statSync(dir).isDirectory()
  } catch {
    // Reported below, with the path as resolved.
  }
  if (!isDirectory) throw new ApiError('invalid_input', `models.addFolder: ${dir} is not a folder`)
  ctx.store.modelFolders.add(dir)
  return ctx.store.modelFolders.list()
}

function removeFolder(ctx: RequestContext, path: string): string[] {
  const dir = resolve(path)
  if (!ctx.store.modelFolders.remove(dir)) {
    throw new ApiError('not_found', `models.removeFolder: ${dir} is not a watched folder`)
  }
  return ctx.store.modelFolders.list()
}

/** The model's evaluations as base weights (`base:<id>`), newest first, with their headline score. */
function evaluationsOf(ctx: RequestContext, modelId: number): ModelEvaluationLink[] {
  return ctx.store.evaluations
    .completed()
    .filter((e) => e.targetKey === `base:${modelId}`)
    .reverse()
    .map((e) => ({
      id: e.id,
      task: e.task,
      status: e.status,
      primaryMetric: e.primaryMetric,
      value: e.primaryMetric === null ? null : (e.scores[e.primaryMetric]?.value ?? null)
    }))
}

async function detail(ctx: RequestContext, id: number) {
  const model = ctx.store.models.get(id)
  if (!model) throw notFound('base model', id)
  const input: ModelDescribeInput = { path: model.path, watchedFolders: ctx.store.modelFolders.list() }
  const facts = await modelFolderJob<ModelFolderFacts>(ctx, MODEL_DESCRIBE_JOB, input, 'models.detail')
  return {
    ...facts,
    model: { ...model, contextLength: contextLengthOf(model.path) },
    listed: ctx.store.models.isListed(id),
    runs: ctx.store.models.runsOf(id),
    evaluations: evaluationsOf(ctx, id)
  }
}

export const modelLibraryHandlers: Pick<
  Handlers,
  | 'models.discover'
  | 'models.folders'
  | 'models.addFolder'
  | 'models.removeFolder'
  | 'models.detail'
  | 'models.remove'
> = {
  'models.discover': (_input, ctx) => discover(ctx),
  'models.folders': (_input, ctx) => ctx.store.modelFolders.list(),
  'models.addFolder': (input, ctx) => addFolder(ctx, input.path),
  'models.removeFolder': (input, ctx) => removeFolder(ctx, input.path),
  'models.detail': (input, ctx) => detail(ctx, input.id),
  'models.remove': (input, ctx) => {
    if (!ctx.store.models.remove(input.id)) throw notFound('base model', input.id)
    return { id: input.id }
  }
}

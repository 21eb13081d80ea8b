/**
 * Starting a run: the dataset version is written out as the trainer's input, the run row records the
 * fully resolved configuration (with the hashes of the base model and the data), and the run is
 * queued with this context's run manager, which trains it in a process of its own.
 *
 * Runs started from the command line on a data file (`finetune-studio train --store`) go through
 * `startFileRun`: the same recording, with the file and its hash in place of a dataset version.
 *
 * A run with benchmarks has its tasks read first (a bad task file refuses it before anything is
 * recorded); the plan, with task files as absolute paths, is kept in the run's configuration.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import type { ModelSummary, ParsedInput, RunSummary } from '../../src-preload/contract'
import { writeTextFileAtomically } from '../engine/checkpoint/atomic-write'
import { resolveTrainConfig, type TrainConfig, type TrainConfigInput } from '../engine/train/train-config'
import { inspectModel } from '../jobs/kinds/model-inspect'
import { getRecipe, recipeNames, resolveRecipe } from '../recipes'
import type { Store } from '../store'
import { ApiError, notFound } from './errors'
import type { RequestContext } from './handlers'
import { graphCacheDir } from '../store/location'
import { resolveBenchmarkPlan, type BenchmarkPlan } from './run-benchmarks'

export type RunSettings = ParsedInput<'runs.start'>

/** The version's samples as the trainer's JSONL: train split for training, validation for held-out loss. */
export function writeVersionData(
  store: Store,
  versionId: number,
  dir: string,
  operation = 'runs.start'
): {
  trainFile: string
  evalFile: string | null
  trainSampleIds: (number | null)[]
  validationCount: number
} {
  mkdirSync(dir, { recursive: true })
  const samples = (split: 'train' | 'validation') => store.datasets.versionSamples(versionId, { split })
  const train = samples('train')
  if (train.length === 0)
    throw new ApiError('invalid_input', `${operation}: dataset version ${versionId} has no train samples`)
  const trainFile = join(dir, 'train.jsonl')
  writeTextFileAtomically(trainFile, train.map((s) => JSON.stringify(s.conversation)).join('\n') + '\n')
  const trainSampleIds = train.map((s) => s.sampleId)
  const validation = samples('validation')
  if (validation.length === 0) return { trainFile, evalFile: null, trainSampleIds, validationCount: 0 }
  const evalFile = join(dir, 'validation.jsonl')
  writeTextFileAtomically(evalFile, validation.map((s) => JSON.stringify(s.conversation)).join('\n') + '\n')
  return { trainFile, evalFile, trainSampleIds, validationCount: validation.length }
}

export function checkRecipe(name: string, operation = 'runs.start'): void {
  try {
    getRecipe(name)
  } catch {
    throw new ApiError(
      'invalid_input',
      `${operation}: unknown recipe ${JSON.stringify(name)}; known: ${recipeNames().join(', ')}`
    )
  }
}

/** The store's recipe row for a declared recipe (declarations in src-main/recipes are the source). */
function recipeRow(store: Store, name: string): number {
  const recipe = getRecipe(name)
  return store.recipes.upsert({
    name: recipe.name,
    version: 1,
    description: recipe.summary,
    paramsSchema: { params: recipe.params, paper: recipe.paper }
  }).id
}

/** The trainer configuration a run's settings resolve to; errors name the setting. */
export function trainConfigFor(
  input: RunSettings,
  modelDir: string,
  outDir: string,
  data: { trainFile: string; evalFile: string | null },
  cacheDir: string
): TrainConfig {
  const settings: TrainConfigInput = {
    modelDir,
    dataFile: data.trainFile,
    outDir,
    evalDataFile: data.evalFile,
    evalEvery: input.evalEvery,
    adapter:
      input.adapter === 'lora'
        ? { kind: 'lora', ...input.lora }
        : { kind: 'full', freezeEmbeddings: input.freezeEmbeddings },
    recipe: { name: input.recipe, params: input.recipeParams },
    optimizer: { kind: input.optimizer, weightDecay: input.weightDecay },
    lr: input.lr,
    lrScheduler: input.lrScheduler,
    warmupSteps: input.warmupSteps,
    maxGradNorm: input.maxGradNorm,
    batchSize: input.batchSize,
    gradAccum: input.gradAccum,
    maxSteps: input.maxSteps ?? null,
    epochs: input.maxSteps === undefined ? (input.epochs ?? 1) : null,
    maxSeqLen: input.maxSeqLen,
    seed: input.seed,
    saveEvery: input.saveEvery,
    benchmarkEvery: input.benchmarks?.every ?? 0,
    packing: input.packing,
    templateDrops: input.templateDrops,
    device: input.device,
    cacheDir
  }
  return resolveTrainConfig(settings, resolveRecipe)
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

export async function startRun(ctx: RequestContext, input: RunSettings): Promise<RunSummary> {
  checkRecipe(input.recipe)
  const model = ctx.store.models.get(input.baseModelId)
  if (!model) throw notFound('base model', input.baseModelId)
  const version = ctx.store.datasets.getVersion(input.datasetVersionId)
  if (!version) throw notFound('dataset version', input.datasetVersionId)
  const benchmarks = input.benchmarks
    ? await resolveBenchmarkPlan(ctx, 'runs.start: benchmarks', input.benchmarks)
    : null

  const run = ctx.store.runs.create({
    name: input.name ?? `${input.recipe}-${input.adapter} on ${model.name}`,
    recipeId: recipeRow(ctx.store, input.recipe),
    baseModelId: model.id,
    datasetVersionId: version.id,
    config: {},
    device: input.device
  })
  const outDir = join(ctx.store.dir, 'runs', String(run.id))
  let config: TrainConfig
  let data: ReturnType<typeof writeVersionData>
  try {
    data = writeVersionData(ctx.store, version.id, join(outDir, 'data'))
    config = trainConfigFor(input, model.path, outDir, data, graphCacheDir(ctx.store.dir))
  } catch (err) {
    ctx.store.runs.delete(run.id)
    throw err instanceof ApiError
      ? err
      : new ApiError('invalid_input', `runs.start: ${(err as Error).message}`)
  }
  ctx.store.runs.setOutDir(run.id, outDir)
  ctx.store.runs.setConfig(run.id, {
    ...config,
    request: input,
    baseModelHash: model.contentHash,
    datasetVersionHash: version.contentHash,
    dataHash: sha256File(data.trainFile),
    benchmarks,
    segments: []
  })
  ctx.store.runs.claim(run.id, ctx.runs.owner)
  ctx.runs.log(run.id, 'info', `queued on ${config.device}`)
  ctx.runs.enqueue(run.id, config, 'start')
  return ctx.store.runs.getSummary(run.id)!
}

/**
 * The base model registered at `path`, registering it when it is not yet. The weights are hashed on
 * this thread: only the command line does this, before it trains, with nothing else to serve.
 */
export async function ensureModelRegistered(ctx: RequestContext, path: string): Promise<ModelSummary> {
  const known = ctx.store.models.getByPath(path)
  if (known) return known
  try {
    const inspection = await inspectModel(path, {
      progress: () => {},
      log: () => {},
      signal: new AbortController().signal
    })
    return ctx.store.models.register(inspection)
  } catch (error) {
    throw new ApiError('invalid_input', `registering the base model ${path}: ${(error as Error).message}`)
  }
}

/**
 * Records and queues a run trained from files (`finetune-studio train --store`): the base model is
 * registered if needed, the data file is named with its hash, and the run's folder is the config's
 * outDir (the user's --out). Its checkpoints are saved at the benchmark steps too.
 */
export async function startFileRun(
  ctx: RequestContext,
  trainConfig: TrainConfig,
  options: { name?: string; request?: Record<string, unknown>; benchmarks?: BenchmarkPlan } = {}
): Promise<RunSummary> {
  const benchmarks = options.benchmarks
    ? await resolveBenchmarkPlan(ctx, '--eval-tasks', options.benchmarks)
    : null
  const config: TrainConfig = { ...trainConfig, benchmarkEvery: benchmarks?.every ?? 0 }
  const model = await ensureModelRegistered(ctx, config.modelDir)
  const run = ctx.store.runs.create({
    name: options.name ?? `${config.recipe.name}-${config.adapter.kind} on ${basename(config.dataFile)}`,
    recipeId: recipeRow(ctx.store, config.recipe.name),
    baseModelId: model.id,
    datasetVersionId: null,
    outDir: config.outDir,
    config: {
      ...config,
      request: options.request ?? {},
      baseModelHash: model.contentHash,
      dataHash: sha256File(config.dataFile),
      evalDataHash: config.evalDataFile ? sha256File(config.evalDataFile) : null,
      benchmarks,
      segments: []
    },
    device: config.device,
    owner: ctx.runs.owner
  })
  ctx.runs.log(run.id, 'info', `queued on ${config.device} from ${config.dataFile}`)
  ctx.runs.enqueue(run.id, config, config.resumeFrom ? 'resume' : 'start')
  return ctx.store.runs.getSummary(run.id)!
}

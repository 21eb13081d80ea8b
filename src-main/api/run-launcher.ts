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
import { readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import type { ModelSummary, RunSummary } from '../../src-preload/contract'
import { isPipelineConfig, resolvePipelineConfig, type PipelineConfig } from '../engine/train/pipeline'
import { resolveTrainConfig, type TrainConfig, type TrainConfigInput } from '../engine/train/train-config'
import { inspectModel } from '../jobs/kinds/model-inspect'
import { getRecipe, recipeNames, resolveRecipe } from '../recipes'
import type { Store } from '../store'
import { ApiError, notFound } from './errors'
import type { RequestContext } from './handlers'
import { graphCacheDir } from '../store/location'
import { resolveBenchmarkPlan, type BenchmarkPlan } from './run-benchmarks'
import { stageSettings, writeStagesData, type RunSettings, type StageData } from './run-stages'

export type { RunSettings } from './run-stages'

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
    basePrecision: input.basePrecision,
    recompute: input.recompute,
    cacheDir
  }
  return resolveTrainConfig(settings, resolveRecipe)
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

export async function startRun(ctx: RequestContext, input: RunSettings): Promise<RunSummary> {
  const stages = stageSettings(input)
  for (const stage of stages) checkRecipe(stage.recipe)
  const model = ctx.store.models.get(input.baseModelId)
  if (!model || !ctx.store.models.isListed(model.id)) throw notFound('base model', input.baseModelId)
  const version = ctx.store.datasets.getVersion(input.datasetVersionId)
  if (!version) throw notFound('dataset version', input.datasetVersionId)
  const benchmarks = input.benchmarks
    ? await resolveBenchmarkPlan(ctx, 'runs.start: benchmarks', input.benchmarks)
    : null

  const run = ctx.store.runs.create({
    name:
      input.name ?? `${stages.map((stage) => stage.recipe).join(' → ')}-${input.adapter} on ${model.name}`,
    recipeId: recipeRow(ctx.store, input.recipe),
    baseModelId: model.id,
    datasetVersionId: version.id,
    config: {},
    device: input.device
  })
  const outDir = join(ctx.store.dir, 'runs', String(run.id))
  let config: TrainConfig | PipelineConfig
  let data: StageData[]
  try {
    data = writeStagesData(ctx.store, input, join(outDir, 'data'), 'runs.start')
    config = runConfigFor(stages, model.path, outDir, data, graphCacheDir(ctx.store.dir))
  } catch (err) {
    ctx.store.runs.delete(run.id)
    throw err instanceof ApiError
      ? err
      : new ApiError('invalid_input', `runs.start: ${(err as Error).message}`)
  }
  ctx.store.runs.setOutDir(run.id, outDir)
  ctx.store.runs.setConfig(run.id, {
    ...runRecordView(config),
    request: input,
    baseModelHash: model.contentHash,
    datasetVersionHash: version.contentHash,
    dataHash: sha256File(data[0].trainFile),
    ...(data.length > 1 || input.mixture
      ? { stageData: data.map((stage) => ({ ...stage.report, dataHash: sha256File(stage.trainFile) })) }
      : {}),
    benchmarks,
    segments: []
  })
  ctx.store.runs.claim(run.id, ctx.runs.owner)
  ctx.runs.log(run.id, 'info', `queued on ${input.device}`)
  for (const line of stageDataLines(data)) ctx.runs.log(run.id, 'info', line)
  ctx.runs.enqueue(run.id, config, 'start')
  return ctx.store.runs.getSummary(run.id)!
}

/** One stage: its training configuration; several: a pipeline of them (engine/train/pipeline.ts). */
export function runConfigFor(
  stages: RunSettings[],
  modelDir: string,
  outDir: string,
  data: StageData[],
  cacheDir: string
): TrainConfig | PipelineConfig {
  if (stages.length === 1) return trainConfigFor(stages[0], modelDir, outDir, data[0], cacheDir)
  const configs = stages.map((stage, index) => {
    try {
      return trainConfigFor(stage, modelDir, outDir, data[index], cacheDir)
    } catch (error) {
      throw new ApiError('invalid_input', `stage ${index + 1}: ${(error as Error).message}`)
    }
  })
  return resolvePipelineConfig({ outDir, stages: configs }, resolveRecipe)
}

/**
 * What the run's record keeps of its configuration: a pipeline keeps its stages, and beside them
 * the first stage's settings that every stage shares (adapter, device, …) where a one-stage run's
 * readers look for them.
 */
export function runRecordView(config: TrainConfig | PipelineConfig): Record<string, unknown> {
  if (!isPipelineConfig(config)) return { ...config }
  return { ...config.stages[0], ...config }
}

/** What each stage's data came to, in words for the run's log. */
function stageDataLines(data: StageData[]): string[] {
  return data.flatMap(({ report }, index) => {
    const stage = data.length > 1 ? `stage ${index + 1}: ` : ''
    const parts = [`${report.rows} training rows`]
    if (report.mixture) {
      parts.push(
        `mixed from ${report.mixture.map((m) => `${m.rows} of version ${m.datasetVersionId}`).join(', ')}`
      )
    }
    if (report.overlap) {
      const { seen, unseen, share } = report.overlap
      parts.push(
        `${seen} ask a prompt an earlier stage trained on, ${unseen} do not` +
          (share === null ? ' (overlap not controlled)' : ` (overlap ${share} asked)`)
      )
    }
    return report.mixture || report.overlap ? [`${stage}${parts.join('; ')}`] : []
  })
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
 * outDir (the user's --out). Its checkpoints are saved at the benchmark steps too. A pipeline
 * (`train --pipeline`) is recorded the same way, named by its stages' recipes.
 */
export async function startFileRun(
  ctx: RequestContext,
  trainConfig: TrainConfig | PipelineConfig,
  options: { name?: string; request?: Record<string, unknown>; benchmarks?: BenchmarkPlan } = {}
): Promise<RunSummary> {
  const benchmarks = options.benchmarks
    ? await resolveBenchmarkPlan(ctx, '--eval-tasks', options.benchmarks)
    : null
  const benchmarkEvery = benchmarks?.every ?? 0
  const config = isPipelineConfig(trainConfig)
    ? { ...trainConfig, stages: trainConfig.stages.map((stage) => ({ ...stage, benchmarkEvery })) }
    : { ...trainConfig, benchmarkEvery }
  const stages = isPipelineConfig(config) ? config.stages : [config]
  const first = stages[0]
  const model = await ensureModelRegistered(ctx, first.modelDir)
  const recipes = stages.map((stage) => stage.recipe.name).join(' → ')
  const run = ctx.store.runs.create({
    name: options.name ?? `${recipes}-${first.adapter.kind} on ${basename(first.dataFile)}`,
    recipeId: recipeRow(ctx.store, first.recipe.name),
    baseModelId: model.id,
    datasetVersionId: null,
    outDir: config.outDir,
    config: {
      ...runRecordView(config),
      request: options.request ?? {},
      baseModelHash: model.contentHash,
      dataHash: sha256File(first.dataFile),
      evalDataHash: first.evalDataFile ? sha256File(first.evalDataFile) : null,
      benchmarks,
      segments: []
    },
    device: first.device,
    owner: ctx.runs.owner
  })
  ctx.runs.log(run.id, 'info', `queued on ${first.device} from ${first.dataFile}`)
  ctx.runs.enqueue(run.id, config, config.resumeFrom ? 'resume' : 'start')
  return ctx.store.runs.getSummary(run.id)!
}

/**
 * Starting a run: the dataset version is written out as the trainer's input, the run row records the
 * fully resolved configuration, and the training job's events become metrics, checkpoints and status
 * in the store (and run.* events for every client).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Events, MetricPoint, ParsedInput, RunSummary } from '../../src-preload/contract'
import {
  resolveTrainConfig,
  type TrainConfig,
  type TrainEvent,
  type TrainResult
} from '../engine/train/trainer'
import { getRecipe, recipeNames } from '../recipes'
import type { Store } from '../store'
import { ApiError, notFound } from './errors'
import type { RequestContext } from './handlers'

type StartInput = ParsedInput<'runs.start'>

/** The version's samples as the trainer's JSONL: train split for training, validation for held-out loss. */
function writeVersionData(
  store: Store,
  versionId: number,
  dir: string
): { trainFile: string; evalFile: string | null } {
  mkdirSync(dir, { recursive: true })
  const lines = (split: 'train' | 'validation') =>
    store.datasets.versionSamples(versionId, { split }).map((s) => JSON.stringify(s.conversation))
  const train = lines('train')
  if (train.length === 0)
    throw new ApiError('invalid_input', `runs.start: dataset version ${versionId} has no train samples`)
  const trainFile = join(dir, 'train.jsonl')
  writeFileSync(trainFile, train.join('\n') + '\n')
  const validation = lines('validation')
  if (validation.length === 0) return { trainFile, evalFile: null }
  const evalFile = join(dir, 'validation.jsonl')
  writeFileSync(evalFile, validation.join('\n') + '\n')
  return { trainFile, evalFile }
}

function checkRecipe(name: string): void {
  try {
    getRecipe(name)
  } catch {
    throw new ApiError(
      'invalid_input',
      `runs.start: unknown recipe ${JSON.stringify(name)}; known: ${recipeNames().join(', ')}`
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

function trainConfigFor(
  input: StartInput,
  modelDir: string,
  outDir: string,
  data: { trainFile: string; evalFile: string | null },
  cacheDir: string
): TrainConfig {
  return resolveTrainConfig({
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
    packing: input.packing,
    device: input.device,
    cacheDir
  })
}

/** Metric points are written in batches: one transaction per second or per 64 points, not per step. */
class MetricsWriter {
  private pending: MetricPoint[] = []
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly store: Store,
    private readonly runId: number
  ) {}

  add(points: MetricPoint[]): void {
    this.pending.push(...points)
    if (this.pending.length >= 64) this.flush()
    else this.timer ??= setTimeout(() => this.flush(), 1000)
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    if (this.pending.length === 0) return
    this.store.runs.appendMetrics(this.runId, this.pending)
    this.pending = []
  }
}

/** Turns the training job's JSON-lines output into store rows and run.* events. */
function trainEventSink(ctx: RequestContext, runId: number, metrics: MetricsWriter): (text: string) => void {
  let buffer = ''
  const handle = (event: TrainEvent) => {
    if (event.type === 'start') {
      ctx.store.runs.setStatus(runId, 'running')
      ctx.events.emit('run.status', { runId, status: 'running', error: null })
    } else if (event.type === 'step') {
      metrics.add([
        { step: event.step, name: 'loss', value: event.loss },
        { step: event.step, name: 'lr', value: event.lr },
        { step: event.step, name: 'grad_norm', value: event.gradNorm },
        { step: event.step, name: 'tokens_per_s', value: event.tokensPerSecond }
      ])
      const progress: Events['run.progress'] = {
        runId,
        step: event.step,
        totalSteps: event.totalSteps,
        loss: event.loss,
        lr: event.lr,
        gradNorm: event.gradNorm,
        tokensPerSecond: event.tokensPerSecond,
        elapsedSeconds: event.elapsedSeconds,
        etaSeconds: event.etaSeconds
      }
      ctx.events.emit('run.progress', progress)
    } else if (event.type === 'eval') {
      metrics.add([{ step: event.step, name: 'eval_loss', value: event.loss }])
    } else if (event.type === 'checkpoint') {
      metrics.flush()
      ctx.store.runs.addCheckpoint(runId, { step: event.step, path: event.dir, metrics: {} })
    }
  }
  return (text) => {
    buffer += text
    let newline: number
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline)
      buffer = buffer.slice(newline + 1)
      if (line.trim() !== '') handle(JSON.parse(line) as TrainEvent)
    }
  }
}

export function startRun(ctx: RequestContext, input: StartInput): RunSummary & { jobId: string } {
  checkRecipe(input.recipe)
  const model = ctx.store.models.get(input.baseModelId)
  if (!model) throw notFound('base model', input.baseModelId)
  const version = ctx.store.datasets.getVersion(input.datasetVersionId)
  if (!version) throw notFound('dataset version', input.datasetVersionId)

  const run = ctx.store.runs.create({
    name: input.name ?? `${input.recipe}-${input.adapter} on ${model.name}`,
    recipeId: recipeRow(ctx.store, input.recipe),
    baseModelId: model.id,
    datasetVersionId: version.id,
    config: {}
  })
  const outDir = join(ctx.store.dir, 'runs', String(run.id))
  let config: TrainConfig
  try {
    const data = writeVersionData(ctx.store, version.id, join(outDir, 'data'))
    config = trainConfigFor(input, model.path, outDir, data, join(ctx.store.dir, 'graph-cache'))
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
    datasetVersionHash: version.contentHash
  })

  const metrics = new MetricsWriter(ctx.store, run.id)
  const job = ctx.jobs.submit('engine.train', config, {
    cancelPolicy: 'cooperative',
    onOutput: trainEventSink(ctx, run.id, metrics),
    onResult: (value) => value as TrainResult
  })
  void ctx.jobs.wait(job.id).then((finished) => {
    metrics.flush()
    const status =
      finished.status === 'completed' ? 'completed' : finished.status === 'failed' ? 'failed' : 'interrupted'
    const error = finished.status === 'failed' ? finished.error : null
    ctx.store.runs.setStatus(run.id, status, error)
    ctx.events.emit('run.status', { runId: run.id, status, error })
  })
  return { ...ctx.store.runs.get(run.id)!, jobId: job.id }
}

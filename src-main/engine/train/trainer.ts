/**
 * The trainer loop: data → batches → optimizer steps of a compiled StepProgram, with progress
 * events, checkpoints, exact resume, a cooperative stop and the export of what was trained.
 *
 * One optimizer step takes `gradAccum` micro-batches from the stream (fewer at the end of an
 * epoch: a step never spans two epochs, as in transformers' Trainer), its learning rate from the
 * schedule at the 0-based index of the update, and runs `program.step` once. Steps are counted
 * from 1; the checkpoint after step N is `checkpoints/step-N`.
 *
 * Exact resume. Everything a step depends on is either in the checkpoint (trainable tensors,
 * optimizer state, data cursor, step number) or a pure function of the seed and those (data
 * order per epoch, learning rate per step), so a run resumed from step N feeds the program
 * exactly what the uninterrupted run fed it at steps N+1…, and on CPU gets the same bits. The
 * settings that decide those inputs are hashed into the checkpoint; a resume that changes one is
 * refused, naming it.
 *
 * Failure. A non-finite loss or gradient norm stops the run at that step with an error naming it;
 * the weights are poisoned by then, so nothing more is saved and the last checkpoint written
 * stays the last good one. A checkpoint is also refused whenever the state holds a non-finite
 * value.
 *
 * This module imports nothing from electron, the store or the API: it runs in a job worker or in
 * the CLI's process alike.
 */
import { createHash } from 'node:crypto'
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { errorNamingPath, writeFolderAtomically, writeTextFileAtomically } from '../checkpoint/atomic-write'
import { readModelConfig, type ModelConfig } from '../checkpoint/hf-config'
import { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, LORA_TARGET_MODULES } from '../checkpoint/peft'
import { defaultGraphCacheDir } from '../infer/model-session'
import type { Device } from '../runtime/devices'
import { loadTokenizer, type TextTokenizer } from '../tokenizer/tokenizer'
import { getRecipe, resolveRecipeParams } from '../../recipes/index'
import { BatchStream, collateRows, type BatchOptions, type TrainingBatch } from './batches'
import {
  checkpointDir,
  findNonFinite,
  readCheckpoint,
  removeStaleRunTemporaries,
  writeCheckpoint,
  CHECKPOINT_FORMAT,
  type EvalRecord,
  type StepRecord,
  type TrainerState
} from './checkpoints'
import { createStepProgram } from './compile-step'
import { readTrainingData, type DroppedRow, type TrainingExample } from './data'
import {
  exportFullModel,
  exportLoraAdapter,
  exportMergedModel,
  exportedLoraConfig,
  writeExportFiles
} from './export'
import { OPTIMIZER_KINDS, type OptimizerConfig } from './optimizers'
import { Rng } from '../rng'
import { learningRateAt, LR_SCHEDULER_KINDS, type LrSchedule, type LrSchedulerKind } from './schedule'
import type { AdapterSpec, StepProgram, StepProgramSpec, TrainableState } from './step-program'

export type { EvalRecord, StepRecord } from './checkpoints'

/** A run's complete, resolved configuration (what train_config.json holds). */
export interface TrainConfig {
  /** The HF base model folder. */
  modelDir: string
  /** JSONL training rows (see data.ts for the forms). */
  dataFile: string
  /** Receives the export at the end and `checkpoints/`. */
  outDir: string
  adapter: AdapterSpec
  recipe: { name: string; params: Record<string, number> }
  optimizer: OptimizerConfig
  /** Peak learning rate. */
  lr: number
  lrScheduler: LrSchedulerKind
  warmupSteps: number
  /** Global gradient-norm clipping threshold; 0 = off. */
  maxGradNorm: number
  /** Rows per micro-batch. */
  batchSize: number
  /** Micro-batches per optimizer step. */
  gradAccum: number
  /** Exactly one of maxSteps and epochs is set. */
  maxSteps: number | null
  epochs: number | null
  maxSeqLen: number
  shuffle: boolean
  seed: number
  /** Save a checkpoint every N steps; 0 = only at the end (and on a stop). */
  saveEvery: number
  /**
   * Also save a checkpoint every N steps (0 = none): the steps whose checkpoints are benchmarked
   * while the run trains (RunSettings.benchmarks). Apart from saveEvery so that both schedules hold.
   */
  benchmarkEvery: number
  /** Pack several examples per row (attention never crosses samples). */
  packing: boolean
  device: Device
  /** Held-out rows: their loss is measured before training, every evalEvery steps and at the end. */
  evalDataFile: string | null
  /** 0 = only before training and at the end. */
  evalEvery: number
  /** Continue from this checkpoint folder (`<out>/checkpoints/step-N`). */
  resumeFrom: string | null
  /**
   * Continuing a run with a new total (more steps or epochs) from `resumeFrom`: the total may differ
   * from the checkpoint's, and the learning-rate schedule is re-planned over the new total from the
   * checkpoint's step on — step k uses the rate a run planned with the new total from the start would
   * use at k (what transformers' Trainer does when resumed with a larger max_steps). Steps before the
   * checkpoint keep the rates they had. Every other setting must still match the checkpoint. For a
   * constant schedule this changes nothing: its resume key ignores the total anyway.
   */
  replanSchedule: boolean
  /** LoRA: also write the merged model to `<out>/merged`. */
  mergeLora: boolean
  /** One JSON line per optimizer step: {step, loss, lr, grad_norm, tokens_per_s}. */
  metricsJsonl: string | null
  /** Where compiled step graphs are cached. */
  cacheDir: string
}

/** What a caller must give; everything else has a default (see resolveTrainConfig). */
export type TrainConfigInput = Pick<TrainConfig, 'modelDir' | 'dataFile' | 'outDir'> & {
  [
    K in Exclude<keyof TrainConfig, 'modelDir' | 'dataFile' | 'outDir' | 'adapter' | 'optimizer' | 'recipe'>
  ]?: TrainConfig[K]
} & {
  adapter?: Partial<Extract<AdapterSpec, { kind: 'lora' }>> | Partial<Extract<AdapterSpec, { kind: 'full' }>>
  optimizer?: Partial<OptimizerConfig>
  /** Parameter values may be strings ("0.05"), as the command line gives them. */
  recipe?: { name: string; params?: Readonly<Record<string, unknown>> }
}

export const DEFAULT_LORA = { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] } as const
export const DEFAULT_LR = { lora: 2e-4, full: 2e-5 } as const
export const DEFAULT_ADAMW = { betas: [0.9, 0.999] as const, eps: 1e-8, weightDecay: 0 }
export const DEFAULT_MAX_SEQ_LEN = 1024

/** Progress of one optimizer step, as the `step` event carries it. */
export interface TrainProgress extends StepRecord {
  totalSteps: number
  /** The epoch the step's data came from (0-based). */
  epoch: number
  /** Training time so far, over all sessions of the run. */
  elapsedSeconds: number
  /** Remaining steps at this session's mean step time. */
  etaSeconds: number
}

export type TrainEvent =
  | {
      type: 'start'
      startStep: number
      totalSteps: number
      examples: number
      rows: number
      truncated: number
      dropped: DroppedRow[]
      evalExamples: number
      trainableTensors: number
      resumedFrom: string | null
    }
  | ({ type: 'step' } & TrainProgress)
  | ({ type: 'eval' } & EvalRecord)
  | { type: 'checkpoint'; step: number; dir: string }

export interface TrainerOptions {
  /** Compiles the step program; default the step-graph compiler (tests may pass a fake). */
  createProgram?: (spec: StepProgramSpec) => Promise<StepProgram>
  /** Called for every event, in order; the loop waits for a returned promise (a pause). */
  onEvent?: (event: TrainEvent) => void | Promise<void>
  /** Cooperative stop: checked between optimizer steps; the run saves a checkpoint and ends. */
  signal?: AbortSignal
}

export interface ExportedFolder {
  dir: string
  files: string[]
}

export interface TrainResult {
  status: 'completed' | 'stopped'
  step: number
  totalSteps: number
  lastCheckpoint: string | null
  /** The adapter (LoRA) or model folder (full) in outDir; null when stopped. */
  exported: (ExportedFolder & { kind: 'lora' | 'full' }) | null
  /** `<out>/merged` when mergeLora. */
  merged: ExportedFolder | null
  logHistory: StepRecord[]
  evalHistory: EvalRecord[]
}

/** A non-finite loss, gradient norm or weight: the run cannot go on from here. */
export class TrainingDivergedError extends Error {
  constructor(
    readonly step: number,
    readonly reason: string,
    readonly lastCheckpoint: string | null
  ) {
    super(
      `train: step ${step}: ${reason}; training stopped. ` +
        (lastCheckpoint
          ? `The last good checkpoint is ${lastCheckpoint}`
          : 'No checkpoint had been saved before it') +
        ' (try a lower --lr or --max-grad-norm)'
    )
    this.name = 'TrainingDivergedError'
  }
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/** Fills defaults and checks every setting; errors name the setting by its CLI flag. */
export function resolveTrainConfig(input: TrainConfigInput): TrainConfig {
  const modelDir = resolve(requireText(input.modelDir, '--model'))
  const adapter = resolveAdapter(input.adapter ?? {})
  const fullFineTuning = adapter.kind === 'full'
  const recipeName = input.recipe?.name ?? 'sft'
  getRecipe(recipeName)
  const config: TrainConfig = {
    modelDir,
    dataFile: resolve(requireText(input.dataFile, '--data')),
    outDir: resolve(requireText(input.outDir, '--out')),
    adapter,
    recipe: { name: recipeName, params: numericRecipeParams(recipeName, input.recipe?.params ?? {}) },
    optimizer: resolveOptimizer(input.optimizer ?? {}),
    lr: input.lr ?? (fullFineTuning ? DEFAULT_LR.full : DEFAULT_LR.lora),
    lrScheduler: input.lrScheduler ?? 'linear',
    warmupSteps: input.warmupSteps ?? 0,
    maxGradNorm: input.maxGradNorm ?? 1,
    batchSize: input.batchSize ?? 4,
    gradAccum: input.gradAccum ?? 1,
    maxSteps: input.maxSteps ?? null,
    epochs: input.epochs ?? (input.maxSteps == null ? 1 : null),
    maxSeqLen: input.maxSeqLen ?? defaultMaxSeqLen(modelDir),
    shuffle: input.shuffle ?? true,
    seed: input.seed ?? 42,
    saveEvery: input.saveEvery ?? 0,
    benchmarkEvery: input.benchmarkEvery ?? 0,
    packing: input.packing ?? false,
    device: input.device ?? 'cpu',
    evalDataFile: input.evalDataFile ? resolve(input.evalDataFile) : null,
    evalEvery: input.evalEvery ?? 0,
    resumeFrom: input.resumeFrom ? resolve(input.resumeFrom) : null,
    replanSchedule: input.replanSchedule ?? false,
    mergeLora: input.mergeLora ?? false,
    metricsJsonl: input.metricsJsonl ? resolve(input.metricsJsonl) : null,
    cacheDir: input.cacheDir ?? defaultGraphCacheDir()
  }
  checkTrainConfig(config)
  if (existsSync(join(modelDir, 'config.json')))
    checkSeqLenFits(config.maxSeqLen, readModelConfig(modelDir), modelDir)
  return config
}

function checkSeqLenFits(maxSeqLen: number, model: ModelConfig, modelDir: string): void {
  if (maxSeqLen > model.maxPositionEmbeddings) {
    throw new Error(
      `train: --max-seq-len must be at most the ${model.maxPositionEmbeddings} positions of ${modelDir}, got ${maxSeqLen}`
    )
  }
}

function resolveAdapter(given: NonNullable<TrainConfigInput['adapter']>): AdapterSpec {
  const kind = (given as { kind?: string }).kind ?? 'lora'
  if (kind === 'full') {
    const full = given as Partial<Extract<AdapterSpec, { kind: 'full' }>>
    return { kind: 'full', freezeEmbeddings: full.freezeEmbeddings ?? false }
  }
  if (kind !== 'lora') throw new Error(`train: --adapter must be lora or full, got ${JSON.stringify(kind)}`)
  const lora = given as Partial<Extract<AdapterSpec, { kind: 'lora' }>>
  return {
    kind: 'lora',
    r: lora.r ?? DEFAULT_LORA.r,
    alpha: lora.alpha ?? DEFAULT_LORA.alpha,
    dropout: lora.dropout ?? DEFAULT_LORA.dropout,
    targets: [...(lora.targets ?? DEFAULT_LORA.targets)],
    initAdapterDir: lora.initAdapterDir ? resolve(lora.initAdapterDir) : null
  }
}

function resolveOptimizer(given: Partial<OptimizerConfig>): OptimizerConfig {
  const kind = given.kind ?? 'adamw'
  if (kind === 'sgd') {
    const sgd = given as Partial<Extract<OptimizerConfig, { kind: 'sgd' }>>
    return { kind: 'sgd', momentum: sgd.momentum ?? 0, weightDecay: sgd.weightDecay ?? 0 }
  }
  if (kind !== 'adamw') {
    throw new Error(
      `train: --optimizer must be one of ${OPTIMIZER_KINDS.join(', ')}, got ${JSON.stringify(kind)}`
    )
  }
  const adamw = given as Partial<Extract<OptimizerConfig, { kind: 'adamw' }>>
  return {
    kind: 'adamw',
    betas: adamw.betas ?? DEFAULT_ADAMW.betas,
    eps: adamw.eps ?? DEFAULT_ADAMW.eps,
    weightDecay: adamw.weightDecay ?? DEFAULT_ADAMW.weightDecay
  }
}

/** The recipe's parameters, checked by the registry; the step graph takes numbers only. */
function numericRecipeParams(name: string, given: Readonly<Record<string, unknown>>): Record<string, number> {
  const resolved = resolveRecipeParams(name, given)
  const params: Record<string, number> = {}
  for (const [key, value] of Object.entries(resolved)) {
    if (typeof value !== 'number') {
      throw new Error(
        `train: recipe ${name}: parameter ${key} is ${typeof value}; the step graph takes numbers`
      )
    }
    params[key] = value
  }
  return params
}

function checkTrainConfig(c: TrainConfig): void {
  const fail = (flag: string, rule: string, value: unknown): never => {
    throw new Error(`train: ${flag} must be ${rule}, got ${JSON.stringify(value)}`)
  }
  const positiveInteger = (flag: string, value: number) => {
    if (!(Number.isSafeInteger(value) && value >= 1)) fail(flag, 'a positive integer', value)
  }
  const nonNegativeInteger = (flag: string, value: number) => {
    if (!(Number.isSafeInteger(value) && value >= 0)) fail(flag, 'an integer ≥ 0', value)
  }
  const nonNegativeNumber = (flag: string, value: number) => {
    if (!(Number.isFinite(value) && value >= 0)) fail(flag, 'a finite number ≥ 0', value)
  }
  if (c.adapter.kind === 'lora') {
    positiveInteger('--lora-r', c.adapter.r)
    if (!(Number.isFinite(c.adapter.alpha) && c.adapter.alpha > 0))
      fail('--lora-alpha', 'a number > 0', c.adapter.alpha)
    if (!(c.adapter.dropout >= 0 && c.adapter.dropout < 1))
      fail('--lora-dropout', 'in [0, 1)', c.adapter.dropout)
    if (c.adapter.targets.length === 0) fail('--lora-targets', 'a non-empty list', c.adapter.targets)
    for (const target of c.adapter.targets) {
      if (!(LORA_TARGET_MODULES as readonly string[]).includes(target)) {
        fail('--lora-targets', `a list of ${LORA_TARGET_MODULES.join(', ')}`, target)
      }
    }
    if (c.adapter.initAdapterDir && !existsSync(join(c.adapter.initAdapterDir, ADAPTER_CONFIG_NAME))) {
      fail('--init-adapter', `a PEFT adapter folder (with ${ADAPTER_CONFIG_NAME})`, c.adapter.initAdapterDir)
    }
  }
  if (c.optimizer.kind === 'adamw') {
    const [beta1, beta2] = c.optimizer.betas
    if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1))
      fail('--betas', 'two numbers in [0, 1)', c.optimizer.betas)
    if (!(Number.isFinite(c.optimizer.eps) && c.optimizer.eps > 0))
      fail('--adam-eps', 'a number > 0', c.optimizer.eps)
  } else if (!(c.optimizer.momentum >= 0 && c.optimizer.momentum < 1)) {
    fail('--momentum', 'in [0, 1)', c.optimizer.momentum)
  }
  nonNegativeNumber('--weight-decay', c.optimizer.weightDecay)
  if (!(Number.isFinite(c.lr) && c.lr > 0)) fail('--lr', 'a finite number > 0', c.lr)
  if (!LR_SCHEDULER_KINDS.includes(c.lrScheduler))
    fail('--lr-scheduler', LR_SCHEDULER_KINDS.join(' | '), c.lrScheduler)
  nonNegativeInteger('--warmup-steps', c.warmupSteps)
  nonNegativeNumber('--max-grad-norm', c.maxGradNorm)
  positiveInteger('--batch-size', c.batchSize)
  positiveInteger('--grad-accum', c.gradAccum)
  if ((c.maxSteps === null) === (c.epochs === null)) {
    throw new Error('train: give exactly one of --max-steps and --epochs')
  }
  if (c.maxSteps !== null) positiveInteger('--max-steps', c.maxSteps)
  if (c.epochs !== null) positiveInteger('--epochs', c.epochs)
  if (!(Number.isSafeInteger(c.maxSeqLen) && c.maxSeqLen >= 2))
    fail('--max-seq-len', 'an integer ≥ 2', c.maxSeqLen)
  nonNegativeInteger('--seed', c.seed)
  nonNegativeInteger('--save-every', c.saveEvery)
  nonNegativeInteger('--eval-every', c.benchmarkEvery)
  nonNegativeInteger('--eval-every', c.evalEvery)
  if (c.device !== 'cpu' && c.device !== 'cuda') fail('--device', 'cpu or cuda', c.device)
  if (c.mergeLora && c.adapter.kind !== 'lora') fail('--merge', 'used with --adapter lora only', true)
}

/** DEFAULT_MAX_SEQ_LEN, or the model's positions when it has fewer. */
function defaultMaxSeqLen(modelDir: string): number {
  const positions = existsSync(join(modelDir, 'config.json'))
    ? readModelConfig(modelDir).maxPositionEmbeddings
    : DEFAULT_MAX_SEQ_LEN
  return Math.min(DEFAULT_MAX_SEQ_LEN, positions)
}

function requireText(value: string, flag: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new Error(`train: ${flag} is required`)
  return value
}

// ---------------------------------------------------------------------------------------------
// Resume key: the settings an exact resume needs unchanged
// ---------------------------------------------------------------------------------------------

/** Each resume-key entry, with the flag that sets it (for the refusal message). */
const RESUME_SETTING_FLAGS: Record<string, string> = {
  model: '--model',
  data: '--data',
  adapter: '--adapter',
  loraR: '--lora-r',
  loraAlpha: '--lora-alpha',
  loraDropout: '--lora-dropout',
  loraTargets: '--lora-targets',
  initAdapter: '--init-adapter',
  freezeEmbeddings: '--freeze-embeddings',
  recipe: '--recipe',
  recipeParams: '--recipe-param',
  optimizer: '--optimizer',
  betas: '--betas',
  adamEps: '--adam-eps',
  momentum: '--momentum',
  weightDecay: '--weight-decay',
  lr: '--lr',
  lrScheduler: '--lr-scheduler',
  warmupSteps: '--warmup-steps',
  totalSteps: '--max-steps / --epochs',
  maxGradNorm: '--max-grad-norm',
  batchSize: '--batch-size',
  gradAccum: '--grad-accum',
  maxSeqLen: '--max-seq-len',
  shuffle: '--no-shuffle',
  seed: '--seed',
  packing: '--pack'
}

/**
 * The settings that decide what every step computes. The total step count matters only to
 * schedules that decay towards it, so a constant-schedule run can be resumed with more steps.
 * The device is left out on purpose: moving a run between CPU and GPU changes rounding, not the
 * computation.
 */
export function resumeKey(config: TrainConfig, totalSteps: number): Record<string, unknown> {
  const { adapter, optimizer } = config
  const lora = adapter.kind === 'lora' ? adapter : null
  return {
    model: modelIdentity(config.modelDir),
    data: fileHash(config.dataFile),
    adapter: adapter.kind,
    loraR: lora?.r ?? null,
    loraAlpha: lora?.alpha ?? null,
    loraDropout: lora?.dropout ?? null,
    loraTargets: lora ? [...lora.targets].sort() : null,
    initAdapter: lora?.initAdapterDir
      ? [ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME].map((file) => fileHash(join(lora.initAdapterDir!, file)))
      : null,
    freezeEmbeddings: adapter.kind === 'full' ? adapter.freezeEmbeddings : null,
    recipe: config.recipe.name,
    recipeParams: config.recipe.params,
    optimizer: optimizer.kind,
    betas: optimizer.kind === 'adamw' ? optimizer.betas : null,
    adamEps: optimizer.kind === 'adamw' ? optimizer.eps : null,
    momentum: optimizer.kind === 'sgd' ? optimizer.momentum : null,
    weightDecay: optimizer.weightDecay,
    lr: config.lr,
    lrScheduler: config.lrScheduler,
    warmupSteps: config.warmupSteps,
    totalSteps: config.lrScheduler === 'constant' ? null : totalSteps,
    maxGradNorm: config.maxGradNorm,
    batchSize: config.batchSize,
    gradAccum: config.gradAccum,
    maxSeqLen: config.maxSeqLen,
    shuffle: config.shuffle,
    seed: config.seed,
    packing: config.packing
  }
}

export function configHash(key: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(key)).digest('hex')
}

/**
 * Throws, naming the first setting that differs, unless `saved` and `current` are the same key
 * (settings named in `ignore` excepted).
 */
export function checkResumeKey(
  saved: Record<string, unknown>,
  current: Record<string, unknown>,
  checkpoint: string,
  ignore: readonly string[] = []
): void {
  for (const name of new Set([...Object.keys(current), ...Object.keys(saved)])) {
    if (ignore.includes(name)) continue
    const before = canonicalJson(saved[name] ?? null)
    const now = canonicalJson(current[name] ?? null)
    if (before === now) continue
    const flag = RESUME_SETTING_FLAGS[name] ?? name
    const shown = (text: string) => (text.length > 80 ? `${text.slice(0, 77)}...` : text)
    const what =
      name === 'model' || name === 'data' || name === 'initAdapter'
        ? 'its contents differ from what the checkpoint was trained on'
        : `the checkpoint has ${shown(before)}, this run ${shown(now)}`
    throw new Error(
      `train: cannot resume exactly from ${checkpoint}: ${flag} differs (${what}); ` +
        'an exact resume needs the settings the checkpoint was trained with'
    )
  }
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v
  )
}

/** The model's config.json and the names and sizes of its weight files: cheap, and enough to notice a different model. */
function modelIdentity(modelDir: string): string {
  const hash = createHash('sha256')
  hash.update(readFileSync(join(modelDir, 'config.json')))
  for (const name of readdirSync(modelDir)
    .filter((f) => f.endsWith('.safetensors'))
    .sort()) {
    hash.update(`\0${name}\0${statSync(join(modelDir, name)).size}`)
  }
  return hash.digest('hex')
}

function fileHash(path: string): string {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex')
  } catch (error) {
    throw new Error(`train: cannot read ${path}: ${(error as Error).message}`)
  }
}

// ---------------------------------------------------------------------------------------------
// The loop
// ---------------------------------------------------------------------------------------------

/** Trains as `config` says; see the module comment. */
export async function train(config: TrainConfig, options: TrainerOptions = {}): Promise<TrainResult> {
  checkTrainConfig(config)
  removeStaleRunTemporaries(config.outDir)
  const emit = async (event: TrainEvent) => {
    await options.onEvent?.(event)
  }
  const model = readModelConfig(config.modelDir)
  checkSeqLenFits(config.maxSeqLen, model, config.modelDir)
  const tokenizer = existsSync(join(config.modelDir, 'tokenizer.json'))
    ? loadTokenizer(config.modelDir)
    : null
  const data = readTrainingData(config.dataFile, { tokenizer, maxSeqLen: config.maxSeqLen })
  if (data.examples.length === 0) {
    throw new Error(`train: ${config.dataFile} has no usable training examples (${data.rowCount} rows read)`)
  }
  const evalExamples = config.evalDataFile
    ? readEvalExamples(config.evalDataFile, tokenizer, config.maxSeqLen)
    : []
  const batchOptions: BatchOptions = {
    batchSize: config.batchSize,
    seed: config.seed,
    shuffle: config.shuffle,
    padId: padIdOf(tokenizer, model),
    packedLength: config.packing ? config.maxSeqLen : undefined
  }
  const totalSteps = plannedSteps(new BatchStream(data.examples, batchOptions), config)
  const key = resumeKey(config, totalSteps)
  const resumed = config.resumeFrom ? readCheckpoint(config.resumeFrom) : null
  if (resumed) {
    checkResumeKey(resumed.state.resumeKey, key, resumed.dir, config.replanSchedule ? ['totalSteps'] : [])
  }
  // At exactly the last step, the run was saved and then ended before its export: it only exports.
  if (resumed && resumed.state.step > totalSteps) {
    throw new Error(
      `train: ${resumed.dir} is at step ${resumed.state.step}, the run has ${totalSteps} steps: nothing left to train`
    )
  }

  const createProgram = options.createProgram ?? createStepProgram
  const program = await createProgram({
    modelDir: config.modelDir,
    adapter: config.adapter,
    optimizer: config.optimizer,
    recipe: config.recipe,
    device: config.device,
    cacheDir: config.cacheDir,
    seed: config.seed,
    packed: config.packing
  })
  try {
    if (resumed) importCheckpoint(program, resumed.tensors, resumed.dir)
    const loop = new TrainingLoop(config, program, emit, options.signal, {
      stream: new BatchStream(data.examples, batchOptions, resumed?.state.dataCursor),
      schedule: { kind: config.lrScheduler, baseLr: config.lr, warmupSteps: config.warmupSteps, totalSteps },
      key,
      evalExamples,
      padId: batchOptions.padId ?? 0,
      resumed: resumed?.state ?? null,
      lastCheckpoint: resumed?.dir ?? null
    })
    await emit({
      type: 'start',
      startStep: resumed?.state.step ?? 0,
      totalSteps,
      examples: data.examples.length,
      rows: data.rowCount,
      truncated: data.truncatedCount,
      dropped: data.dropped,
      evalExamples: evalExamples.length,
      trainableTensors: program.trainableNames.length,
      resumedFrom: resumed?.dir ?? null
    })
    const status = await loop.run()
    const result: TrainResult = {
      status,
      step: loop.step,
      totalSteps,
      lastCheckpoint: loop.lastCheckpoint,
      exported: null,
      merged: null,
      logHistory: loop.logHistory,
      evalHistory: loop.evalHistory
    }
    if (status === 'completed') Object.assign(result, exportTrained(config, model, program))
    return result
  } finally {
    await program.release()
  }
}

interface LoopSetup {
  stream: BatchStream
  schedule: LrSchedule
  key: Record<string, unknown>
  evalExamples: TrainingExample[]
  padId: number
  resumed: TrainerState | null
  lastCheckpoint: string | null
}

class TrainingLoop {
  step: number
  lastCheckpoint: string | null
  readonly logHistory: StepRecord[]
  readonly evalHistory: EvalRecord[]
  private readonly startStep: number
  private readonly priorSeconds: number
  private readonly startedAt = performance.now()
  private lastSavedStep: number

  constructor(
    private readonly config: TrainConfig,
    private readonly program: StepProgram,
    private readonly emit: (event: TrainEvent) => Promise<void>,
    private readonly signal: AbortSignal | undefined,
    private readonly setup: LoopSetup
  ) {
    const resumed = setup.resumed
    this.step = resumed?.step ?? 0
    this.startStep = this.step
    this.lastSavedStep = resumed ? this.step : -1
    this.lastCheckpoint = setup.lastCheckpoint
    this.priorSeconds = resumed?.elapsedSeconds ?? 0
    this.logHistory = resumed ? [...resumed.logHistory] : []
    this.evalHistory = resumed ? [...resumed.evalHistory] : []
    if (config.metricsJsonl) startMetricsFile(config.metricsJsonl, this.logHistory)
  }

  async run(): Promise<'completed' | 'stopped'> {
    const { totalSteps } = this.setup.schedule
    const evaluating = this.setup.evalExamples.length > 0
    if (evaluating && this.step === 0) await this.evaluate()
    while (this.step < totalSteps) {
      if (this.signal?.aborted) {
        await this.save()
        return 'stopped'
      }
      await this.trainOneStep()
      const { saveEvery, benchmarkEvery, evalEvery } = this.config
      if (evaluating && evalEvery > 0 && this.step % evalEvery === 0) await this.evaluate()
      const onSchedule = (every: number) => every > 0 && this.step % every === 0
      if ((onSchedule(saveEvery) || onSchedule(benchmarkEvery)) && this.step < totalSteps) await this.save()
    }
    if (evaluating && this.evalHistory.at(-1)?.step !== this.step) await this.evaluate()
    await this.save()
    return 'completed'
  }

  private async trainOneStep(): Promise<void> {
    const { stream, schedule } = this.setup
    const epoch = stream.cursor.epoch
    const microBatches: TrainingBatch[] = []
    // A step never spans two epochs: the epoch's last step may take fewer micro-batches.
    while (microBatches.length < this.config.gradAccum && stream.cursor.epoch === epoch) {
      microBatches.push(stream.next())
    }
    const lr = learningRateAt(schedule, this.step)
    const stepNumber = this.step + 1
    const began = performance.now()
    const result = await this.program.step(microBatches, {
      lr,
      step: stepNumber,
      maxGradNorm: this.config.maxGradNorm
    })
    const seconds = (performance.now() - began) / 1000
    if (!Number.isFinite(result.loss)) {
      throw new TrainingDivergedError(stepNumber, `the loss is ${result.loss}`, this.lastCheckpoint)
    }
    if (!Number.isFinite(result.gradNorm)) {
      throw new TrainingDivergedError(
        stepNumber,
        `the gradient norm is ${result.gradNorm}`,
        this.lastCheckpoint
      )
    }
    this.step = stepNumber
    const tokens = microBatches.reduce((n, batch) => n + batch.tokenCount, 0)
    const record: StepRecord = {
      step: stepNumber,
      loss: result.loss,
      lr,
      gradNorm: result.gradNorm,
      tokens,
      trainedTokens: result.tokens,
      tokensPerSecond: seconds > 0 ? tokens / seconds : 0,
      metrics: result.metrics
    }
    this.logHistory.push(record)
    if (this.config.metricsJsonl) appendMetricsLine(this.config.metricsJsonl, record)
    const sessionSeconds = (performance.now() - this.startedAt) / 1000
    const done = this.step - this.startStep
    await this.emit({
      type: 'step',
      ...record,
      totalSteps: schedule.totalSteps,
      epoch,
      elapsedSeconds: this.priorSeconds + sessionSeconds,
      etaSeconds: (sessionSeconds / done) * (schedule.totalSteps - this.step)
    })
  }

  /** Mean NLL per labelled token over the held-out examples, in file order. */
  private async evaluate(): Promise<void> {
    const { evalExamples, padId } = this.setup
    let weighted = 0
    let tokens = 0
    for (let start = 0; start < evalExamples.length; start += this.config.batchSize) {
      const rows = []
      for (let i = start; i < Math.min(start + this.config.batchSize, evalExamples.length); i++)
        rows.push([i])
      const result = await this.program.evaluate(collateRows(rows, evalExamples, { padId }))
      weighted += result.loss * result.tokens
      tokens += result.tokens
    }
    const record: EvalRecord = { step: this.step, loss: tokens > 0 ? weighted / tokens : Number.NaN, tokens }
    this.evalHistory.push(record)
    await this.emit({ type: 'eval', ...record })
  }

  private async save(): Promise<void> {
    if (this.step === 0 || this.step === this.lastSavedStep) return
    const tensors = this.program.exportState()
    const bad = findNonFinite(tensors)
    if (bad) {
      throw new TrainingDivergedError(
        this.step,
        `tensor "${bad.name}" holds ${bad.value} after the update`,
        this.lastCheckpoint
      )
    }
    const { stream, schedule, key } = this.setup
    const cursor = stream.cursor
    const state: TrainerState = {
      format: CHECKPOINT_FORMAT,
      step: this.step,
      totalSteps: schedule.totalSteps,
      dataCursor: cursor,
      schedule: {
        kind: schedule.kind,
        baseLr: schedule.baseLr,
        warmupSteps: schedule.warmupSteps,
        totalSteps: schedule.totalSteps,
        nextIndex: this.step
      },
      rng: {
        seed: this.config.seed,
        epoch: cursor.epoch,
        dataOrder: Rng.fromSeed(this.config.seed, cursor.epoch).state()
      },
      configHash: configHash(key),
      resumeKey: key,
      elapsedSeconds: this.priorSeconds + (performance.now() - this.startedAt) / 1000,
      trainableNames: [...this.program.trainableNames],
      logHistory: this.logHistory,
      evalHistory: this.evalHistory
    }
    const dir = checkpointDir(this.config.outDir, this.step)
    writeCheckpoint(dir, tensors, state, this.config)
    this.lastSavedStep = this.step
    this.lastCheckpoint = dir
    await this.emit({ type: 'checkpoint', step: this.step, dir })
  }
}

/** Optimizer steps of the run: --max-steps, or the steps of --epochs epochs. */
export function plannedSteps(
  stream: BatchStream,
  config: Pick<TrainConfig, 'maxSteps' | 'epochs' | 'gradAccum'>
): number {
  if (config.maxSteps !== null) return config.maxSteps
  let steps = 0
  for (let epoch = 0; epoch < config.epochs!; epoch++) {
    steps += Math.ceil(stream.batchesInEpoch(epoch) / config.gradAccum)
  }
  return steps
}

function importCheckpoint(program: StepProgram, tensors: TrainableState, dir: string): void {
  const expected = [...program.trainableNames].sort()
  const found = [...tensors.params.keys()].sort()
  if (expected.join('\n') !== found.join('\n')) {
    const missing = expected.filter((name) => !tensors.params.has(name))
    const extra = found.filter((name) => !program.trainableNames.includes(name))
    throw new Error(
      `train: ${dir} does not hold this run's trainable tensors` +
        (missing.length ? `; missing ${missing.slice(0, 5).join(', ')}` : '') +
        (extra.length ? `; unexpected ${extra.slice(0, 5).join(', ')}` : '')
    )
  }
  program.importState(tensors)
}

function readEvalExamples(
  file: string,
  tokenizer: TextTokenizer | null,
  maxSeqLen: number
): TrainingExample[] {
  const data = readTrainingData(file, { tokenizer, maxSeqLen })
  if (data.examples.length === 0) throw new Error(`train: ${file} (--eval-data) has no usable examples`)
  return data.examples
}

function padIdOf(tokenizer: TextTokenizer | null, model: ModelConfig): number {
  return tokenizer?.pad?.id ?? model.padTokenId ?? 0
}

function exportTrained(
  config: TrainConfig,
  model: ModelConfig,
  program: StepProgram
): Pick<TrainResult, 'exported' | 'merged'> {
  const state = program.exportState()
  const { outDir, modelDir } = config
  if (config.adapter.kind === 'full') {
    const files = writeExportFiles(outDir, (dir) => exportFullModel(dir, modelDir, model, state.params))
    return { exported: { kind: 'full', dir: outDir, files }, merged: null }
  }
  const lora = program.loraConfig
    ? { ...program.loraConfig, baseModelNameOrPath: modelDir }
    : exportedLoraConfig(config.adapter, modelDir)
  const mergedDir = join(outDir, 'merged')
  const merged = config.mergeLora
    ? {
        dir: mergedDir,
        files: writeFolderAtomically(mergedDir, (dir) =>
          exportMergedModel(dir, modelDir, model, lora, state.params)
        )
      }
    : null
  const files = writeExportFiles(outDir, (dir) => exportLoraAdapter(dir, state.params, lora, model))
  return { exported: { kind: 'lora', dir: outDir, files }, merged }
}

// ---------------------------------------------------------------------------------------------
// Metrics file
// ---------------------------------------------------------------------------------------------

/** The metrics line of a step: exactly the documented keys. */
export function metricsLine(record: StepRecord): string {
  return JSON.stringify({
    step: record.step,
    loss: record.loss,
    lr: record.lr,
    grad_norm: record.gradNorm,
    tokens_per_s: record.tokensPerSecond
  })
}

/** Starts the file afresh; a resumed run first rewrites the steps its checkpoint logged. */
function startMetricsFile(path: string, history: readonly StepRecord[]): void {
  mkdirSync(dirname(path), { recursive: true })
  writeTextFileAtomically(path, history.map((record) => metricsLine(record) + '\n').join(''))
}

function appendMetricsLine(path: string, record: StepRecord): void {
  try {
    appendFileSync(path, metricsLine(record) + '\n')
  } catch (error) {
    throw errorNamingPath(error, path)
  }
}

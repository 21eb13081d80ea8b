/**
 * A training run's configuration: what it holds (TrainConfig, written to train_config.json), the
 * defaults a caller may leave out, and the checks every setting passes, with errors that name the
 * setting by its command-line flag. The recipe is named here and resolved by the RecipeResolver the
 * caller passes (loss-hook.ts), so its parameters are checked against its declarations too.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { readModelConfig, type ModelConfig } from '../checkpoint/hf-config'
import { ADAPTER_CONFIG_NAME, LORA_TARGET_MODULES } from '../checkpoint/peft'
import { defaultGraphCacheDir } from '../infer/model-session'
import {
  BASE_PRECISIONS,
  DEFAULT_BASE_PRECISION,
  isBasePrecision,
  type BasePrecision
} from '../models/base-precision'
import type { Device } from '../runtime/devices'
import type { BatchStream } from './batches'
import { TRAIN_CONFIG_FILE } from './checkpoints'
import type { ParamValue, RecipeResolver, ResolvedRecipe } from './loss-hook'
import { recipeGroupSize } from './recipe-rows'
import { OPTIMIZER_KINDS, type OptimizerConfig } from './optimizers'
import { LR_SCHEDULER_KINDS, type LrSchedulerKind } from './schedule'
import type { AdapterSpec } from './step-program'

/** A run's complete, resolved configuration (what train_config.json holds). */
export interface TrainConfig {
  /** The HF base model folder. */
  modelDir: string
  /** JSONL training rows (see data.ts for the forms). */
  dataFile: string
  /** Receives the export at the end and `checkpoints/`. */
  outDir: string
  adapter: AdapterSpec
  recipe: { name: string; params: Record<string, ParamValue> }
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
  /**
   * Samples the chat template leaves content out of (data.ts, template-drops.ts): 'refuse' (the
   * default) stops the run before it starts, listing them; 'skip' trains without them, reported as
   * dropped rows.
   */
  templateDrops: TemplateDropPolicy
  device: Device
  /** How LoRA's frozen base matrices are kept in memory (base-precision.ts); full fine-tuning: 'fp32'. */
  basePrecision: BasePrecision
  /**
   * Recompute each decoder layer's activations in the backward pass instead of keeping them (less
   * memory, slower steps). Runs written before the setting existed trained without it.
   */
  recompute: boolean
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

export const TEMPLATE_DROP_POLICIES = ['refuse', 'skip'] as const
export type TemplateDropPolicy = (typeof TEMPLATE_DROP_POLICIES)[number]

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
export const DEFAULT_RECOMPUTE = true

/**
 * Fills defaults and checks every setting, the recipe and its parameters through `resolveRecipe`;
 * errors name the setting by its CLI flag.
 */
export function resolveTrainConfig(input: TrainConfigInput, resolveRecipe: RecipeResolver): TrainConfig {
  const modelDir = resolve(requireText(input.modelDir, '--model'))
  const adapter = resolveAdapter(input.adapter ?? {})
  const fullFineTuning = adapter.kind === 'full'
  const recipe = resolveRecipe(input.recipe?.name ?? 'sft', input.recipe?.params ?? {})
  const config: TrainConfig = {
    modelDir,
    dataFile: resolve(requireText(input.dataFile, '--data')),
    outDir: resolve(requireText(input.outDir, '--out')),
    adapter,
    recipe: { name: recipe.hook.name, params: { ...recipe.params } },
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
    templateDrops: input.templateDrops ?? 'refuse',
    device: input.device ?? 'cpu',
    basePrecision: input.basePrecision ?? DEFAULT_BASE_PRECISION,
    recompute: input.recompute ?? defaultRecompute(input.resumeFrom ?? null),
    evalDataFile: input.evalDataFile ? resolve(input.evalDataFile) : null,
    evalEvery: input.evalEvery ?? 0,
    resumeFrom: input.resumeFrom ? resolve(input.resumeFrom) : null,
    replanSchedule: input.replanSchedule ?? false,
    mergeLora: input.mergeLora ?? false,
    metricsJsonl: input.metricsJsonl ? resolve(input.metricsJsonl) : null,
    cacheDir: input.cacheDir ?? defaultGraphCacheDir()
  }
  checkTrainConfig(config)
  checkRecipeGroups(recipe, config)
  if (existsSync(join(modelDir, 'config.json')))
    checkSeqLenFits(config.maxSeqLen, readModelConfig(modelDir), modelDir)
  return config
}

export function checkSeqLenFits(maxSeqLen: number, model: ModelConfig, modelDir: string): void {
  if (maxSeqLen > model.maxPositionEmbeddings) {
    throw new Error(
      `train: --max-seq-len must be at most the ${model.maxPositionEmbeddings} positions of ${modelDir}, got ${maxSeqLen}`
    )
  }
}

/**
 * Recomputation when the input leaves it out. The default changed when the setting came (runs before
 * it kept every activation), so a resumed run keeps what its checkpoint trained with, read from the
 * checkpoint's train_config.json: resuming, from the app or the command line, then needs no flag and
 * an old run resumes with its old numerics. A file without the setting, or no file, is from before.
 */
export function defaultRecompute(resumeFrom: string | null): boolean {
  if (resumeFrom === null) return DEFAULT_RECOMPUTE
  const path = join(resolve(resumeFrom), TRAIN_CONFIG_FILE)
  if (!existsSync(path)) return false
  let saved: { recompute?: unknown }
  try {
    saved = JSON.parse(readFileSync(path, 'utf8')) as { recompute?: unknown }
  } catch (error) {
    throw new Error(`train: --resume: cannot read ${path}: ${(error as Error).message}`)
  }
  return typeof saved.recompute === 'boolean' ? saved.recompute : false
}

/** A recipe that trains on groups of rows needs batches of whole groups, and no packing (batches.ts). */
function checkRecipeGroups(recipe: ResolvedRecipe, { packing, batchSize }: TrainConfig): void {
  const groupSize = recipeGroupSize(recipe)
  if (groupSize === 1) return
  const what = `train: recipe ${recipe.hook.name} trains on groups of ${groupSize} rows`
  if (packing) throw new Error(`${what}, which --packing would split; turn packing off`)
  if (batchSize % groupSize !== 0) {
    throw new Error(`${what}: --batch-size must be a multiple of ${groupSize}, got ${batchSize}`)
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

/** Throws naming the first setting out of its range, by its CLI flag. */
export function checkTrainConfig(c: TrainConfig): void {
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
  if (!TEMPLATE_DROP_POLICIES.includes(c.templateDrops))
    fail('--template-drops', TEMPLATE_DROP_POLICIES.join(' | '), c.templateDrops)
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
  if (!isBasePrecision(c.basePrecision))
    fail('--base-precision', `one of ${BASE_PRECISIONS.join(', ')}`, c.basePrecision)
  if (c.basePrecision !== 'fp32' && c.adapter.kind === 'full') {
    throw new Error(
      "train: --base-precision applies to LoRA's frozen base; full fine-tuning trains float32 weights " +
        `(got --base-precision ${c.basePrecision} with --adapter full)`
    )
  }
  if (typeof c.recompute !== 'boolean') fail('--recompute', 'true or false', c.recompute)
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

/**
 * Optimizer steps of the run: --max-steps, or the steps of --epochs epochs, where each step's
 * batch trains for `updatesPerBatch` steps (update-cycle.ts).
 */
export function plannedSteps(
  stream: Pick<BatchStream, 'batchesInEpoch'>,
  config: Pick<TrainConfig, 'maxSteps' | 'epochs' | 'gradAccum'>,
  updatesPerBatch = 1
): number {
  if (config.maxSteps !== null) return config.maxSteps
  let steps = 0
  for (let epoch = 0; epoch < config.epochs!; epoch++) {
    steps += Math.ceil(stream.batchesInEpoch(epoch) / config.gradAccum) * updatesPerBatch
  }
  return steps
}

/**
 * The resume key: the settings an exact resume needs unchanged, saved in every checkpoint with its
 * sha256 (over canonical JSON, so the key order does not matter). A resume compares the checkpoint's
 * key with the run's and refuses, naming the flag, when a setting differs. The model, the data and
 * an initial adapter are keyed by their contents, not their paths.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { canonicalJson, sha256Hex } from '../../shared/canonical-json'
import { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME } from '../checkpoint/peft'
import type { TrainConfig } from './train-config'

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
  packing: '--pack',
  basePrecision: '--base-precision',
  recompute: '--recompute / --no-recompute'
}

/**
 * Settings that came after checkpoints were first written, with the value every run before them
 * had. The key holds such a setting only when it differs from that value, so an old checkpoint's
 * key and hash still match a run that trains as it did, and an absent entry reads as that value.
 */
const SETTINGS_ADDED_LATER: Record<string, unknown> = {
  basePrecision: 'fp32',
  recompute: false
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
    packing: config.packing,
    ...addedLaterIfChanged({ basePrecision: config.basePrecision, recompute: config.recompute })
  }
}

function addedLaterIfChanged(settings: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(settings).filter(([name, value]) => value !== SETTINGS_ADDED_LATER[name])
  )
}

/** The sha256 a checkpoint stores beside its key. */
export function configHash(key: Record<string, unknown>): string {
  return sha256Hex(canonicalJson(key))
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
    const before = canonicalJson(saved[name] ?? SETTINGS_ADDED_LATER[name] ?? null)
    const now = canonicalJson(current[name] ?? SETTINGS_ADDED_LATER[name] ?? null)
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

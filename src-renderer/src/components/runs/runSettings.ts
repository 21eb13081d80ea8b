/**
 * A run's settings as people read them: each under the name the new-run form gives it, in the
 * form's order. What a run is configured with beyond that (its folders, caches, the resume point,
 * how a continue re-plans the schedule) is the app's business and has no label, so it is not shown.
 */
import type { RunComparison } from '../../../../src-preload/contract'
import { formatSetting } from './runFormat'

const SETTING_LABELS: Record<string, string> = {
  'recipe.name': 'Recipe',
  baseModelId: 'Base model',
  datasetVersionId: 'Dataset version',
  'adapter.kind': 'Adapter',
  'adapter.r': 'LoRA rank',
  'adapter.alpha': 'LoRA alpha',
  'adapter.dropout': 'LoRA dropout',
  'adapter.targets': 'LoRA target modules',
  'adapter.initAdapterDir': 'Start from adapter',
  'adapter.freezeEmbeddings': 'Freeze embeddings',
  maxSteps: 'Steps',
  epochs: 'Epochs',
  batchSize: 'Batch size',
  gradAccum: 'Gradient accumulation',
  maxSeqLen: 'Max sequence length',
  packing: 'Packing',
  templateDrops: 'Samples the chat template loses content of',
  shuffle: 'Shuffle',
  lr: 'Learning rate',
  lrScheduler: 'Learning-rate schedule',
  warmupSteps: 'Warm-up steps',
  'optimizer.kind': 'Optimizer',
  'optimizer.weightDecay': 'Weight decay',
  'optimizer.betas': 'AdamW betas',
  'optimizer.eps': 'AdamW epsilon',
  'optimizer.momentum': 'SGD momentum',
  maxGradNorm: 'Gradient clipping',
  evalEvery: 'Validate every (steps)',
  saveEvery: 'Checkpoint every (steps)',
  'benchmarks.tasks': 'Benchmarks',
  'benchmarks.every': 'Benchmark every (steps)',
  'benchmarks.limit': 'Benchmark documents per task',
  seed: 'Seed',
  device: 'Device',
  basePrecision: 'Base model precision',
  recompute: 'Recompute activations',
  mergeLora: 'Also save the merged model',
  baseModelHash: 'Base model hash',
  datasetVersionHash: 'Dataset version hash',
  dataHash: 'Training data hash',
  evalDataHash: 'Validation data hash'
}
const ORDER = Object.keys(SETTING_LABELS)
const RECIPE_PARAM = /^recipe\.params\.(.+)$/

/** Recipe parameters follow the recipe, in the order the recipe lists them. */
function rank(key: string): number {
  return RECIPE_PARAM.test(key) ? ORDER.indexOf('recipe.name') + 0.5 : ORDER.indexOf(key)
}

/** The label of a dotted configuration key; null for a key that is not a setting to show. */
export function settingLabel(key: string): string | null {
  const param = RECIPE_PARAM.exec(key)
  if (param) return `Recipe: ${param[1]}`
  return SETTING_LABELS[key] ?? null
}

/** A setting's value in a table cell: ids as the app writes them elsewhere (#3). */
export function settingText(key: string, value: unknown): string {
  if ((key === 'baseModelId' || key === 'datasetVersionId') && typeof value === 'number') return `#${value}`
  return formatSetting(value)
}

export interface SettingRow {
  key: string
  label: string
  text: string
}

/**
 * The settings a run trains with now, from its resolved configuration (runs.get's config): after a
 * continue it holds the new total, where the request the run was started with does not.
 */
export function runSettingRows(config: Record<string, unknown>): SettingRow[] {
  const recipe = config.recipe as { params?: Record<string, unknown> } | undefined
  const entries: [string, unknown][] = [
    ...ORDER.map((key): [string, unknown] => [key, valueAt(config, key)]),
    ...Object.entries(recipe?.params ?? {}).map(([name, value]): [string, unknown] => [
      `recipe.params.${name}`,
      value
    ])
  ]
  return entries
    .filter(([, value]) => value !== undefined && value !== null)
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([key, value]) => ({ key, label: settingLabel(key)!, text: settingText(key, value) }))
}

function valueAt(config: Record<string, unknown>, key: string): unknown {
  let value: unknown = config
  for (const part of key.split('.')) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<string, unknown>)[part]
  }
  return value
}

/** The rows of a comparison's config diff that are settings, labelled and in the form's order. */
export function labelledDiff(
  configDiff: RunComparison['configDiff']
): (RunComparison['configDiff'][number] & { label: string })[] {
  return configDiff
    .flatMap((row) => {
      const label = settingLabel(row.key)
      return label === null ? [] : [{ ...row, label }]
    })
    .sort((a, b) => rank(a.key) - rank(b.key))
}

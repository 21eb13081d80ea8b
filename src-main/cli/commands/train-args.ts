/**
 * `finetune-studio train`'s flags as the trainer's input: each value checked, errors naming the
 * flag and the value; the training file from --data, --rollouts or --rewards, as the recipe needs.
 */
import { readFileSync } from 'node:fs'
import { BASE_PRECISIONS } from '../../engine/models/base-precision'
import { OPTIMIZER_KINDS } from '../../engine/train/optimizers'
import { LR_SCHEDULER_KINDS } from '../../engine/train/schedule'
import { TEMPLATE_DROP_POLICIES, type TrainConfigInput } from '../../engine/train/train-config'
import { listRecipes, recipeNames } from '../../recipes/index'
import { graphCacheDir } from '../../store/location'
import { UsageError, type ParsedArgs } from '../command'
import { storeDirFor } from '../session'
import { optionalNumber } from './engine-job'

/** The trainer input the flags describe; value errors name the flag and the value. */
export function trainInputFromArgs(args: ParsedArgs, given: { dataFile?: string } = {}): TrainConfigInput {
  const text = (name: string): string | undefined => {
    const value = args.values[name]
    return typeof value === 'string' ? value : undefined
  }
  const required = (name: string): string => {
    const value = text(name)
    if (!value) throw new UsageError(`--${name} is required`)
    return value
  }
  const integer = (name: string, min: number) => optionalNumber(args, name, { integer: true, min })
  const number = (name: string, min?: number) => optionalNumber(args, name, { min })
  const choice = <T extends string>(name: string, choices: readonly T[]): T => {
    const value = text(name)
    if (!choices.includes(value as T)) {
      throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`)
    }
    return value as T
  }
  if (text('max-steps') !== undefined && text('epochs') !== undefined) {
    throw new UsageError('give --max-steps or --epochs, not both')
  }
  const adapterKind = choice('adapter', ['lora', 'full'] as const)
  const optimizerKind = choice('optimizer', OPTIMIZER_KINDS)
  const weightDecay = number('weight-decay', 0)!
  const recipe = choice('recipe', recipeNames())
  return {
    modelDir: required('model'),
    dataFile: given.dataFile ?? dataFileOf(recipe, text('data'), text('rollouts'), text('rewards')),
    outDir: required('out'),
    adapter:
      adapterKind === 'full'
        ? { kind: 'full', freezeEmbeddings: args.values['freeze-embeddings'] === true }
        : {
            kind: 'lora',
            r: integer('lora-r', 1),
            alpha: number('lora-alpha', 0),
            dropout: number('lora-dropout', 0),
            targets: listOf(text('lora-targets') ?? ''),
            initAdapterDir: text('init-adapter') ?? null
          },
    recipe: {
      name: recipe,
      params: { ...recipeParams(args.values['recipe-param']), ...rewardsParam(text('rewards')) }
    },
    optimizer:
      optimizerKind === 'sgd'
        ? { kind: 'sgd', momentum: number('momentum', 0), weightDecay }
        : { kind: 'adamw', betas: betas(text('betas')), eps: number('adam-eps', 0), weightDecay },
    lr: number('lr'),
    lrScheduler: choice('lr-scheduler', LR_SCHEDULER_KINDS),
    warmupSteps: integer('warmup-steps', 0),
    maxGradNorm: number('max-grad-norm', 0),
    batchSize: integer('batch-size', 1),
    gradAccum: integer('grad-accum', 1),
    maxSteps: integer('max-steps', 1) ?? null,
    epochs: integer('epochs', 1) ?? null,
    maxSeqLen: integer('max-seq-len', 2),
    shuffle: args.values['no-shuffle'] !== true,
    packing: args.values.pack === true,
    templateDrops: choice('template-drops', TEMPLATE_DROP_POLICIES),
    seed: integer('seed', 0),
    saveEvery: integer('save-every', 0),
    evalDataFile: text('eval-data') ?? null,
    evalEvery: integer('eval-every', 0),
    resumeFrom: text('resume') ?? null,
    mergeLora: args.values.merge === true,
    metricsJsonl: text('metrics-jsonl') ?? null,
    device: choice('device', ['cpu', 'cuda'] as const),
    basePrecision: choice('base-precision', BASE_PRECISIONS),
    recompute: recomputeOf(args),
    // Compiled graphs and converted weights are store artifacts, reused by later runs.
    cacheDir: graphCacheDir(storeDirFor(args))
  }
}

/**
 * The training file: --data, or --rollouts for grpo (rollout rows; grpo itself refuses data rows
 * that are not rollouts, whichever flag named the file).
 */
function dataFileOf(
  recipe: string,
  data: string | undefined,
  rollouts: string | undefined,
  rewards: string | undefined
): string {
  if (rollouts !== undefined && recipe !== 'grpo') {
    throw new UsageError(
      `--rollouts is for reinforcement learning, which only --recipe grpo does (got --recipe ${recipe}); ` +
        'for other recipes give the training rows with --data'
    )
  }
  const answering = answeringRecipes()
  if (rewards !== undefined && !answering.includes(recipe)) {
    throw new UsageError(
      `--rewards is for reinforcement learning, which only --recipe ${answering.join(', ')} do ` +
        `(got --recipe ${recipe}); for other recipes give the training rows with --data`
    )
  }
  if (rollouts !== undefined && (data !== undefined || rewards !== undefined)) {
    throw new UsageError(
      '--rollouts trains on given completions and rewards: give it without --data and --rewards'
    )
  }
  const file = rollouts ?? data
  if (!file) {
    throw new UsageError(
      recipe === 'grpo'
        ? 'give --rollouts FILE (given completions), or --data PROMPTS with --rewards SPEC (the model answers)'
        : answering.includes(recipe)
          ? 'give --data PROMPTS (with gold responses) and --rewards SPEC (the model answers)'
          : '--data is required'
    )
  }
  return file
}

/** The recipes whose model answers the prompts during training, scored by a --rewards spec. */
function answeringRecipes(): string[] {
  return listRecipes()
    .filter((recipe) => recipe.rollouts !== undefined)
    .map((recipe) => recipe.name)
}

/** --rewards FILE as grpo's `rewards` parameter (the spec's JSON). */
function rewardsParam(file: string | undefined): Record<string, string> {
  if (file === undefined) return {}
  try {
    return { rewards: readFileSync(file, 'utf8') }
  } catch (error) {
    throw new UsageError(`--rewards: cannot read ${file}: ${(error as Error).message}`)
  }
}

/** --recompute or --no-recompute; neither leaves it to the default (or, resuming, the checkpoint's). */
function recomputeOf(args: ParsedArgs): boolean | undefined {
  const on = args.values.recompute === true
  const off = args.values['no-recompute'] === true
  if (on && off) throw new UsageError('give --recompute or --no-recompute, not both')
  return on ? true : off ? false : undefined
}

export function listOf(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
}

function betas(value: string | undefined): readonly [number, number] {
  const parts = (value ?? '').split(',').map((part) => part.trim())
  const numbers = parts.map(Number)
  if (parts.length !== 2 || parts.some((part) => part === '') || !numbers.every((n) => n >= 0 && n < 1)) {
    throw new UsageError(`--betas must be two numbers in [0, 1) as b1,b2, got ${JSON.stringify(value)}`)
  }
  return [numbers[0], numbers[1]]
}

function recipeParams(value: ParsedArgs['values'][string]): Record<string, string> {
  const given = value === undefined ? [] : Array.isArray(value) ? value : [String(value)]
  const params: Record<string, string> = {}
  for (const item of given) {
    const match = /^([A-Za-z_][\w-]*)=(.+)$/.exec(item)
    if (!match) throw new UsageError(`--recipe-param must be NAME=VALUE, got ${JSON.stringify(item)}`)
    params[match[1]] = match[2]
  }
  return params
}

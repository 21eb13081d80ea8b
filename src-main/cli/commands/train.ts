/**
 * `finetune-studio train`: fine-tunes a model in a job worker (the `engine.train` job kind on the
 * job runner, as the app runs it), prints a progress line per step on stderr and a summary on stdout.
 * Ctrl-C stops at the next step boundary after saving a checkpoint; a second Ctrl-C aborts.
 *
 * With a store (--store DIR or $FINETUNE_STUDIO_HOME) the run is recorded there like a run started
 * in the app (base model registered, data file hashed, metrics, checkpoints, log) and trained in a
 * process of its own by this command's run manager: it shows up in the app and `runs list`, and
 * `runs pause|stop …` from another terminal control it. Without one, nothing is recorded.
 *
 * --eval-tasks evaluates checkpoints on benchmarks while training (every --eval-every steps and at
 * the end) and waits for the last of them before it reports. Its results are evaluations in the
 * store, so it needs one: without, it is refused up front rather than trained without them.
 */
import { readFileSync } from 'node:fs'
import type { EngineTrainInput } from '../../jobs/kinds/engine-train'
import {
  benchmarkPlanSchema,
  DEFAULT_BENCHMARK_LIMIT,
  type EvaluationSummary
} from '../../../src-preload/contract'
import type { BenchmarkPlan } from '../../api/run-benchmarks'
import { LORA_TARGET_MODULES } from '../../engine/checkpoint/peft'
import { OPTIMIZER_KINDS } from '../../engine/train/optimizers'
import { LR_SCHEDULER_KINDS } from '../../engine/train/schedule'
import {
  resolveTrainConfig,
  DEFAULT_ADAMW,
  DEFAULT_LORA,
  DEFAULT_LR,
  DEFAULT_MAX_SEQ_LEN,
  TEMPLATE_DROP_POLICIES,
  type TrainConfig,
  type TrainConfigInput
} from '../../engine/train/train-config'
import type { TrainResult } from '../../engine/train/trainer'
import { recipeNames, resolveRecipe } from '../../recipes/index'
import { recipeListing, registeredRecipes } from './recipes'
import {
  flagOption as flag,
  JSON_OPTION,
  stringOption as string,
  UsageError,
  type CliIO,
  type Command,
  type OptionSpec,
  type ParsedArgs
} from '../command'
import { storeDirFor, withSession } from '../session'
import { startFileRun } from '../../api/run-launcher'
import { checkOutputFile, checkOutputFolder } from '../../api/write-paths'
import { trainHere } from './runs'
import { optionalNumber, runEngineJob } from './engine-job'
import { graphCacheDir } from '../../store/location'

const TRAIN_OPTIONS: Record<string, OptionSpec> = {
  model: string('DIR', 'HF base model folder (config.json, safetensors, tokenizer.json)'),
  data: string('FILE', 'training rows, JSONL (forms above)'),
  rollouts: string(
    'FILE',
    'grpo: rollout rows, JSONL {"prompt_ids", "completion_ids", "reward", "group"} (in place of --data)'
  ),
  rewards: string(
    'FILE',
    'grpo: a reward spec (JSON, see `finetune-studio rewards`); the model answers the --data prompts before every step'
  ),
  out: string('DIR', 'receives the adapter (LoRA) or model folder (full), plus checkpoints/'),
  adapter: string('lora|full', 'LoRA adapter or full fine-tuning', { default: 'lora' }),
  'init-adapter': string('DIR', 'start LoRA from this PEFT adapter (its r, alpha, targets and weights)'),
  'lora-r': string('N', 'LoRA rank', { default: String(DEFAULT_LORA.r) }),
  'lora-alpha': string('N', 'LoRA alpha (scaling alpha/r)', { default: String(DEFAULT_LORA.alpha) }),
  'lora-dropout': string('P', 'dropout on the LoRA input', { default: String(DEFAULT_LORA.dropout) }),
  'lora-targets': string('a,b,…', `modules to adapt: ${LORA_TARGET_MODULES.join(', ')}`, {
    default: DEFAULT_LORA.targets.join(',')
  }),
  'freeze-embeddings': flag('full fine-tuning: keep the token embeddings frozen'),
  recipe: string(recipeNames().join('|'), 'training recipe (see below)', { default: 'sft' }),
  'recipe-param': string('NAME=VALUE', 'a recipe parameter (repeatable), e.g. kl_weight=0.05', {
    multiple: true
  }),
  optimizer: string(OPTIMIZER_KINDS.join('|'), 'optimizer', { default: 'adamw' }),
  lr: string('X', `peak learning rate (default ${DEFAULT_LR.lora} for LoRA, ${DEFAULT_LR.full} for full)`),
  'weight-decay': string('X', 'weight decay (decoupled for adamw)', {
    default: String(DEFAULT_ADAMW.weightDecay)
  }),
  betas: string('b1,b2', 'AdamW betas', { default: DEFAULT_ADAMW.betas.join(',') }),
  'adam-eps': string('X', 'AdamW epsilon', { default: String(DEFAULT_ADAMW.eps) }),
  momentum: string('X', 'SGD momentum', { default: '0' }),
  'lr-scheduler': string(LR_SCHEDULER_KINDS.join('|'), 'learning-rate schedule after warmup', {
    default: 'linear'
  }),
  'warmup-steps': string('N', 'linear warmup from 0', { default: '0' }),
  'max-grad-norm': string('X', 'clip the global gradient norm (0 = off)', { default: '1' }),
  'batch-size': string('N', 'rows per micro-batch', { default: '4' }),
  'grad-accum': string('N', 'micro-batches per optimizer step', { default: '1' }),
  'max-steps': string('N', 'optimizer steps to train (or --epochs)'),
  epochs: string('N', 'passes over the data (default 1 unless --max-steps)'),
  'max-seq-len': string(
    'N',
    `truncate examples to N tokens (default ${DEFAULT_MAX_SEQ_LEN}, at most the model's)`
  ),
  'no-shuffle': flag('keep file order: batch k is rows k·B … k·B+B−1'),
  pack: flag('pack several examples per row (attention never crosses them)'),
  'template-drops': string(
    TEMPLATE_DROP_POLICIES.join('|'),
    'samples the chat template leaves content out of: refuse the run, or skip them',
    { default: 'refuse' }
  ),
  seed: string('N', 'seed of data order, LoRA init and dropout', { default: '42' }),
  'save-every': string('N', 'save a checkpoint every N steps (0 = only at the end)', { default: '0' }),
  'eval-data': string('FILE', 'held-out rows: loss before training, every --eval-every steps and at the end'),
  'eval-every': string(
    'N',
    'held-out loss and --eval-tasks every N steps (0: the loss at the start and end, the tasks at the end)',
    { default: '0' }
  ),
  'eval-tasks': string(
    'a,b,…',
    'benchmark the checkpoints on these tasks (built-in names or task files) while training; needs --store'
  ),
  'eval-limit': string('N|all', 'documents of each --eval-tasks task', {
    default: String(DEFAULT_BENCHMARK_LIMIT)
  }),
  resume: string('DIR', 'continue exactly from a checkpoint folder (OUT/checkpoints/step-N)'),
  merge: flag('LoRA: also write the merged model to OUT/merged'),
  overwrite: flag(
    'train into an OUT that holds files (those of the same names are replaced); replace --metrics-jsonl'
  ),
  'metrics-jsonl': string('FILE', 'one line per step: {"step","loss","lr","grad_norm","tokens_per_s"}'),
  device: string('cpu|cuda', 'where to train', { default: 'cpu' }),
  json: JSON_OPTION
}

export const trainCommand: Command = {
  words: ['train'],
  summary: 'Fine-tune a model with LoRA or full fine-tuning; exports a PEFT adapter or HF model folder.',
  details: [
    'Data rows (JSONL), one of: {"messages": [...]}, {"prompt", "completion"},',
    '{"instruction", "input", "output"}, or pre-tokenized {"input_ids", "labels"} (labels not shifted, -100 = untrained).',
    '',
    'Reinforcement learning on given completions: --recipe grpo --rollouts FILE, rows {"prompt_ids": [...],',
    '"completion_ids": [...], "reward": 1.0, "group": 7}; the group_size consecutive rows of a group share a prompt.',
    'On its own samples: --recipe grpo --data PROMPTS --rewards SPEC.json: before every step the model answers each',
    'prompt group_size times and the spec scores the answers (rollout tokens/s is reported beside training tokens/s).',
    '',
    'Benchmarks during training: --eval-tasks arc_easy,gsm8k --eval-every 20 --eval-limit 50 evaluates the',
    'checkpoints of every 20th step and the last one (`finetune-studio eval tasks` lists the built-ins).',
    'The results are stored per checkpoint, so this needs a store (--store DIR or FINETUNE_STUDIO_HOME);',
    'without one, evaluate what it wrote afterwards: `finetune-studio eval --model DIR --adapter OUT --task NAME`.',
    '',
    'recipes (`finetune-studio recipes` lists them too):',
    recipeListing(registeredRecipes())
  ].join('\n'),
  options: TRAIN_OPTIONS,
  async run(args, io) {
    const input = trainInputFromArgs(args)
    let config: TrainConfig
    try {
      config = resolveTrainConfig(input, resolveRecipe)
    } catch (error) {
      throw new UsageError((error as Error).message.replace(/^train: /, ''))
    }
    checkOutputs(args, config)
    const benchmarks = benchmarkPlanFromArgs(args)
    if (benchmarks && !recordsInStore(args)) {
      throw new UsageError(
        '--eval-tasks stores its results per checkpoint in a store: give --store DIR (or set FINETUNE_STUDIO_HOME), ' +
          'or evaluate what it wrote afterwards with `finetune-studio eval --model DIR --adapter OUT`'
      )
    }
    if (recordsInStore(args)) {
      const { runId, result, evaluations } = await trainRecorded(args, config, benchmarks, io)
      const scores = evaluations.map(benchmarkScore)
      if (args.values.json) {
        const summary = { runId, ...summaryOf(result), ...(benchmarks ? { benchmarks: scores } : {}) }
        return io.out(JSON.stringify(summary, null, 2))
      }
      io.out(describeResult(result))
      if (benchmarks) io.out(describeBenchmarks(scores))
      io.out(`recorded as run ${runId} in ${storeDirFor(args)}`)
      return
    }
    const stop = new AbortController()
    const onInterrupt = () => {
      if (stop.signal.aborted) process.exit(130)
      io.err('stopping after the current step and saving a checkpoint (Ctrl-C again to abort)')
      stop.abort()
    }
    process.on('SIGINT', onInterrupt)
    let result: TrainResult
    try {
      result = await trainInWorker(
        config,
        {
          onProgress: (line) => io.err(line),
          onLog: (level, message) => io.err(level === 'info' ? message : `${level}: ${message}`)
        },
        stop.signal
      )
    } finally {
      process.off('SIGINT', onInterrupt)
    }
    if (args.values.json) return io.out(JSON.stringify(summaryOf(result), null, 2))
    io.out(describeResult(result))
  }
}

/** --out and --metrics-jsonl: outside the store, and replacing what is there only if asked (or resuming). */
function checkOutputs(args: ParsedArgs, config: TrainConfig): void {
  const storeDir = storeDirFor(args)
  const options = { overwrite: args.values.overwrite === true, overwriteFlag: '--overwrite' }
  const continuing = config.resumeFrom !== null
  checkOutputFolder('train', storeDir, config.outDir, { ...options, continuing })
  if (config.metricsJsonl) {
    checkOutputFile('train', storeDir, config.metricsJsonl, {
      ...options,
      overwrite: options.overwrite || continuing,
      createsFolder: true
    })
  }
}

function recordsInStore(args: ParsedArgs): boolean {
  const home = process.env.FINETUNE_STUDIO_HOME
  return typeof args.values.store === 'string' || (home !== undefined && home.trim() !== '')
}

/**
 * Records the run in the store and trains it in the foreground; the trainer's result at the end,
 * with the benchmark evaluations of its checkpoints once the last of them is over.
 */
async function trainRecorded(
  args: ParsedArgs,
  config: TrainConfig,
  benchmarks: BenchmarkPlan | null,
  io: CliIO
): Promise<{ runId: number; result: TrainResult; evaluations: EvaluationSummary[] }> {
  return withSession(args, async (session) => {
    const { help: _help, json: _json, store: _store, ...options } = args.values
    const run = await startFileRun(session.ctx, config, {
      request: { command: 'train', options },
      ...(benchmarks ? { benchmarks } : {})
    })
    if (run.status === 'queued')
      io.err(`run ${run.id} is queued: another run is training on ${config.device}`)
    const finished = await trainHere(session, run, io)
    const result = session.ctx.runs.resultOf(run.id)
    if (!result || (finished.status !== 'completed' && finished.status !== 'stopped')) {
      throw new Error(finished.error ?? `run ${run.id} ended as ${finished.status}`)
    }
    if (benchmarks) io.err('waiting for the benchmarks of the last checkpoints…')
    // Evaluations still running when this command exits would be cut short.
    await session.ctx.runs.benchmarksSettled(run.id)
    const evaluations = session.ctx.store.evaluations.list({ runId: run.id })
    evaluations.sort((a, b) => (a.step ?? 0) - (b.step ?? 0) || a.id - b.id)
    return { runId: run.id, result, evaluations }
  })
}

/** --eval-tasks, --eval-every and --eval-limit as a run's benchmark plan; null without --eval-tasks. */
function benchmarkPlanFromArgs(args: ParsedArgs): BenchmarkPlan | null {
  const tasks = listOf(typeof args.values['eval-tasks'] === 'string' ? args.values['eval-tasks'] : '')
  if (tasks.length === 0) return null
  const limit = args.values['eval-limit']
  const parsed = benchmarkPlanSchema.safeParse({
    tasks,
    every: optionalNumber(args, 'eval-every', { integer: true, min: 0 }),
    limit: limit === 'all' ? null : optionalNumber(args, 'eval-limit', { integer: true, min: 1 })
  })
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new UsageError(`--eval-${String(issue.path[0])}: ${issue.message}`)
  }
  return parsed.data
}

interface BenchmarkScore {
  step: number | null
  task: string
  status: EvaluationSummary['status']
  metric: string | null
  value: number | null
  stderr: number | null
  evaluationId: number
}

function benchmarkScore(evaluation: EvaluationSummary): BenchmarkScore {
  const metric = evaluation.primaryMetric
  const score = metric === null ? undefined : evaluation.scores[metric]
  return {
    step: evaluation.step,
    task: evaluation.task,
    status: evaluation.status,
    metric,
    value: score?.value ?? null,
    stderr: score?.stderr ?? null,
    evaluationId: evaluation.id
  }
}

function describeBenchmarks(scores: BenchmarkScore[]): string {
  const lines = ['benchmarks (headline metric ± standard error):']
  for (const score of scores) {
    const result =
      score.value === null
        ? score.status
        : `${score.metric} ${score.value.toFixed(4)}${score.stderr === null ? '' : ` ± ${score.stderr.toFixed(4)}`}`
    lines.push(
      `  step ${String(score.step).padStart(6)}  ${score.task}  ${result}  (evaluation ${score.evaluationId})`
    )
  }
  return lines.join('\n')
}

/** The trainer input the flags describe; value errors name the flag and the value. */
export function trainInputFromArgs(args: ParsedArgs): TrainConfigInput {
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
    dataFile: dataFileOf(recipe, text('data'), text('rollouts'), text('rewards')),
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
  if ((rollouts !== undefined || rewards !== undefined) && recipe !== 'grpo') {
    throw new UsageError(
      `--${rollouts !== undefined ? 'rollouts' : 'rewards'} is for reinforcement learning, which only --recipe grpo does ` +
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
        : '--data is required'
    )
  }
  return file
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

function listOf(value: string): string[] {
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

export interface TrainWorkerHandlers {
  /** One human-readable line per optimizer step. */
  onProgress?: (line: string) => void
  onLog?: (level: 'info' | 'warn' | 'error', message: string) => void
  /** Every trainer event, as the job streams it (a JSON line each). */
  onEventLine?: (line: string) => void
}

/**
 * Runs `engine.train` on a job runner, as `generate` and `score` run theirs, and resolves with its
 * result. Aborting `signal` asks the job for a cooperative stop and waits for it (checkpoint
 * included): the runner never terminates a cooperative job's worker, whose step and checkpoint
 * may take longer than a cancel's grace period.
 */
export function trainInWorker(
  input: EngineTrainInput,
  handlers: TrainWorkerHandlers,
  signal: AbortSignal
): Promise<TrainResult> {
  const { onProgress, onLog, onEventLine } = handlers
  return runEngineJob<TrainResult>('engine.train', input, {
    onProgress,
    onLog,
    onOutput: onEventLine && ((text) => onEventLine(text.trimEnd())),
    stop: signal
  })
}

function summaryOf(result: TrainResult) {
  const { logHistory: _log, ...rest } = result
  return { ...rest, finalLoss: result.logHistory.at(-1)?.loss ?? null }
}

function describeResult(result: TrainResult): string {
  const lines: string[] = []
  if (result.status === 'stopped') {
    lines.push(`stopped at step ${result.step}/${result.totalSteps}`)
  } else {
    lines.push(
      `trained ${result.totalSteps} steps; final loss ${result.logHistory.at(-1)?.loss.toFixed(4) ?? '—'}`
    )
  }
  const evals = result.evalHistory
  if (evals.length > 1) {
    lines.push(
      `held-out loss ${evals[0].loss.toFixed(4)} (step ${evals[0].step}) → ${evals.at(-1)!.loss.toFixed(4)} (step ${evals.at(-1)!.step})`
    )
  }
  if (result.exported) {
    const what = result.exported.kind === 'lora' ? 'PEFT adapter' : 'model'
    lines.push(`${what} written to ${result.exported.dir} (${result.exported.files.join(', ')})`)
  }
  if (result.merged) lines.push(`merged model written to ${result.merged.dir}`)
  if (result.lastCheckpoint) {
    lines.push(
      `last checkpoint: ${result.lastCheckpoint}` +
        (result.status === 'stopped' ? ` (continue with --resume ${result.lastCheckpoint})` : '')
    )
  }
  return lines.join('\n')
}

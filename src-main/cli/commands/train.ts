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
import type { EngineTrainInput } from '../../jobs/kinds/engine-train'
import {
  benchmarkPlanSchema,
  DEFAULT_BENCHMARK_LIMIT,
  type EvaluationSummary
} from '../../../src-preload/contract'
import type { BenchmarkPlan } from '../../api/run-benchmarks'
import { LORA_TARGET_MODULES } from '../../engine/checkpoint/peft'
import { BASE_PRECISIONS, DEFAULT_BASE_PRECISION } from '../../engine/models/base-precision'
import { OPTIMIZER_KINDS } from '../../engine/train/optimizers'
import { LR_SCHEDULER_KINDS } from '../../engine/train/schedule'
import {
  resolveTrainConfig,
  DEFAULT_ADAMW,
  DEFAULT_LORA,
  DEFAULT_LR,
  DEFAULT_MAX_SEQ_LEN,
  TEMPLATE_DROP_POLICIES,
  type TrainConfig
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
import { isPipelineConfig, type PipelineConfig } from '../../engine/train/pipeline'
import { pipelineConfigFrom, readPipelineFile } from './train-pipeline'
import { listOf, trainInputFromArgs } from './train-args'
import { resolve } from 'node:path'
import { startFileRun } from '../../api/run-launcher'
import { checkOutputFile, checkOutputFolder } from '../../api/write-paths'
import { trainHere } from './runs'
import { optionalNumber, runEngineJob } from './engine-job'

const TRAIN_OPTIONS: Record<string, OptionSpec> = {
  model: string('DIR', 'HF base model folder (config.json, safetensors, tokenizer.json)'),
  data: string('FILE', 'training rows, JSONL (forms above)'),
  rollouts: string(
    'FILE',
    'grpo: rollout rows, JSONL {"prompt_ids", "completion_ids", "reward", "group"} (in place of --data)'
  ),
  rewards: string(
    'FILE',
    'grpo, chord, prefix-rft, seele: a reward spec (JSON, see `finetune-studio rewards`); the model answers the --data ' +
      'prompts before every step'
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
  pipeline: string(
    'FILE',
    'a run of stages (JSON {"stages": [...]}, see above) in place of --data/--recipe: each starts from the one before'
  ),
  merge: flag('LoRA: also write the merged model to OUT/merged'),
  overwrite: flag(
    'train into an OUT that holds files (those of the same names are replaced); replace --metrics-jsonl'
  ),
  'metrics-jsonl': string('FILE', 'one line per step: {"step","loss","lr","grad_norm","tokens_per_s"}'),
  device: string('cpu|cuda', 'where to train', { default: 'cpu' }),
  'base-precision': string(
    BASE_PRECISIONS.join('|'),
    "LoRA: how the frozen base model's matrices are kept: fp32 exact (4 bytes a weight), fp16/bf16 2, " +
      'int8 ~1.06, int4 ~0.56',
    { default: DEFAULT_BASE_PRECISION }
  ),
  recompute: flag(
    "recompute each layer's activations in the backward pass: less memory, ~30% slower steps " +
      "(the default; resuming, the checkpoint's setting)"
  ),
  'no-recompute': flag('keep every activation from the forward pass: faster steps, more memory'),
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
    'chord, prefix-rft and seele take --data PROMPTS with gold responses and --rewards SPEC.json likewise, and learn',
    'from the gold responses too (`finetune-studio recipes` says how).',
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
    const config = trainConfigFromArgs(args, io)
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

/**
 * What the flags ask to train: one configuration, or with --pipeline the stages of the file (their
 * data composed into --out, whose checks come first).
 */
function trainConfigFromArgs(args: ParsedArgs, io: CliIO): TrainConfig | PipelineConfig {
  const pipelineFile = args.values.pipeline
  try {
    if (typeof pipelineFile !== 'string') return resolveTrainConfig(trainInputFromArgs(args), resolveRecipe)
    for (const flag of ['data', 'rollouts', 'rewards', 'eval-data']) {
      if (args.values[flag] !== undefined) {
        throw new UsageError(
          `--${flag} is a stage's in a pipeline: give it in ${pipelineFile}, not with --pipeline`
        )
      }
    }
    const pipeline = readPipelineFile(pipelineFile)
    const base = trainInputFromArgs(args, { dataFile: '' })
    const storeDir = storeDirFor(args)
    checkOutputFolder('train', storeDir, resolve(base.outDir), {
      overwrite: args.values.overwrite === true,
      overwriteFlag: '--overwrite',
      continuing: base.resumeFrom != null
    })
    return pipelineConfigFrom(pipelineFile, pipeline, base, (line) => io.err(line))
  } catch (error) {
    if (error instanceof UsageError) throw error
    throw new UsageError((error as Error).message.replace(/^train: /, ''))
  }
}

/** --out and --metrics-jsonl: outside the store, and replacing what is there only if asked (or resuming). */
function checkOutputs(args: ParsedArgs, run: TrainConfig | PipelineConfig): void {
  const storeDir = storeDirFor(args)
  const options = { overwrite: args.values.overwrite === true, overwriteFlag: '--overwrite' }
  const config = isPipelineConfig(run)
    ? { ...run.stages[0], outDir: run.outDir, resumeFrom: run.resumeFrom }
    : run
  const continuing = config.resumeFrom !== null
  // A pipeline's data were composed into --out already: it holds files of this run.
  checkOutputFolder('train', storeDir, config.outDir, {
    ...options,
    continuing: continuing || isPipelineConfig(run)
  })
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
  config: TrainConfig | PipelineConfig,
  benchmarks: BenchmarkPlan | null,
  io: CliIO
): Promise<{ runId: number; result: TrainResult; evaluations: EvaluationSummary[] }> {
  return withSession(args, async (session) => {
    const { help: _help, json: _json, store: _store, ...options } = args.values
    const run = await startFileRun(session.ctx, config, {
      request: { command: 'train', options },
      ...(benchmarks ? { benchmarks } : {})
    })
    if (run.status === 'queued') io.err(`run ${run.id} is queued: another run is training on ${run.device}`)
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

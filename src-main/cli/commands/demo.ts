/**
 * `finetune-studio demo` (= `npm run demo`): the product's whole job on the embedded default model,
 * through the same API calls the GUI makes — import the sample dataset as a version, register the
 * base model, train the default recipe (LoRA SFT), evaluate the base model and the run's last
 * checkpoint on the sample benchmark (the story-requests task), measure both on the held-out
 * conversations, and show them side by side, with two of the requests put to the arena for a blind
 * vote. Everything lands in the store with its lineage.
 */
import { join } from 'node:path'
import type {
  DatasetVersionSummary,
  EvalTargetRef,
  EvaluationDetail,
  Events,
  ModelSummary
} from '../../../src-preload/contract'
import { baseModelTarget, checkpointTarget } from '../../api/weights-target'
import type { WeightsSource } from '../../engine/models/weights'
import { checkpointWeightsSource } from '../../engine/train/checkpoint-weights'
import type { EngineScoreInput, EngineScoreOutput } from '../../jobs/kinds/engine-score'
import { formatDuration } from '../../jobs/kinds/engine-train'
import { defaultModelDir, resourcesDir } from '../../resources'
import { graphCacheDir } from '../../store/location'
import { JSON_OPTION, UsageError, type CliIO, type Command } from '../command'
import { formatTable, progressBar } from '../format'
import { withSession, type CliSession } from '../session'
import { runEvaluations } from './eval'

export const DEMO_DATASET = 'story-requests (demo)'
const BENCHMARK = 'story-requests'
/** The requests are chat turns, and the model learns to answer them as such. */
const BENCHMARK_SETTINGS = { applyChatTemplate: true }
/** The benchmark's max_gen_toks: greedy, the arena's answers are then the evaluation's. */
const GENERATION_TOKENS = 64

/** The demo's training settings: LoRA on every projection, enough steps to learn the task on 2 cores. */
export const DEMO_TRAINING = {
  recipe: 'sft',
  adapter: 'lora',
  lora: {
    r: 16,
    alpha: 32,
    targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']
  },
  lr: 3e-3,
  batchSize: 8,
  lrScheduler: 'linear',
  seed: 0,
  evalEvery: 20
} as const

const EXAMPLES = 2

function demoDataDir(): string {
  return join(resourcesDir(), 'datasets', 'story-requests')
}

async function waitForJob(session: CliSession, jobId: string, what: string): Promise<unknown> {
  const job = await session.ctx.jobs.wait(jobId)
  if (job.status !== 'completed') throw new Error(`${what} ${job.status}: ${job.error ?? 'no reason given'}`)
  return job.result
}

/** The demo dataset's newest version, importing the sample files the first time. */
async function demoDatasetVersion(session: CliSession, io: CliIO): Promise<DatasetVersionSummary> {
  const existing = (await session.call('datasets.list', {})).find((d) => d.name === DEMO_DATASET)
  if (existing?.latestVersion) {
    const [version] = await session.call('datasets.versions', { id: existing.id })
    io.out(`dataset: ${DEMO_DATASET} v${version.version} (${version.sampleCount} samples, already imported)`)
    return version
  }
  const dir = demoDataDir()
  const train = await session.call('datasets.import', {
    path: join(dir, 'train.jsonl'),
    datasetName: DEMO_DATASET
  })
  const validation = await session.call('datasets.import', {
    path: join(dir, 'validation.jsonl'),
    datasetId: train.dataset.id,
    split: 'validation',
    cutVersion: true,
    note: 'sample dataset shipped with Finetune Studio'
  })
  const version = validation.version!
  io.out(
    `dataset: imported ${train.imported} training + ${validation.imported} held-out conversations → ` +
      `${DEMO_DATASET} v${version.version} (${version.contentHash.slice(0, 12)})`
  )
  return version
}

async function registerBaseModel(session: CliSession, io: CliIO): Promise<ModelSummary> {
  const { jobId } = await session.call('models.register', { path: defaultModelDir() })
  const model = (await waitForJob(session, jobId, 'registering the base model')) as ModelSummary
  io.out(
    `base model: ${model.name} (${model.architecture}, ${model.parameterCount.toLocaleString('en')} parameters)`
  )
  return model
}

function trainingProgress(p: Events['run.progress']): string {
  return (
    `${progressBar(p.step, p.totalSteps)} step ${p.step}/${p.totalSteps}  ` +
    `loss ${p.loss.toFixed(4)}  ${Math.round(p.tokensPerSecond)} tok/s  ETA ${formatDuration(p.etaSeconds)}`
  )
}

async function trainDemoRun(
  session: CliSession,
  io: CliIO,
  model: ModelSummary,
  version: DatasetVersionSummary,
  steps: number | undefined
) {
  const started = performance.now()
  const run = await session.call('runs.start', {
    name: `demo: LoRA SFT of ${model.name}`,
    baseModelId: model.id,
    datasetVersionId: version.id,
    ...DEMO_TRAINING,
    lora: { ...DEMO_TRAINING.lora, targets: [...DEMO_TRAINING.lora.targets] },
    ...(steps === undefined ? { epochs: 2 } : { maxSteps: steps })
  })
  io.out(`run ${run.id}: ${run.name} (recipe ${run.recipe})`)
  const tty = process.stderr.isTTY
  let lastDecile = -1
  const stop = session.ctx.events.subscribe((event, payload) => {
    if (event !== 'run.progress' || (payload as Events['run.progress']).runId !== run.id) return
    const p = payload as Events['run.progress']
    const decile = Math.floor((10 * p.step) / p.totalSteps)
    if (tty) process.stderr.write(`\r${trainingProgress(p)}`)
    else if (decile !== lastDecile) io.err(trainingProgress(p))
    lastDecile = decile
  })
  const finished = await session.ctx.runs.waitForRun(run.id).finally(stop)
  if (finished.status !== 'completed') {
    throw new Error(`run ${run.id} ${finished.status}: ${finished.error ?? 'no reason given'}`)
  }
  if (tty) process.stderr.write('\n')
  const seconds = (performance.now() - started) / 1000
  io.out(`run ${run.id}: completed in ${formatDuration(seconds)}`)
  return { runId: run.id, seconds }
}

interface DemoEvaluation {
  evaluation: EvaluationDetail
  /** Seconds it took; null when an earlier demo's evaluation of the same weights was reused. */
  seconds: number | null
  heldOutLoss: number
}

/** The demo benchmark on both targets, in one evaluation job; the seconds each took. */
async function evaluateBoth(
  session: CliSession,
  io: CliIO,
  targets: EvalTargetRef[]
): Promise<{ evaluations: EvaluationDetail[]; seconds: Map<number, number> }> {
  const startedAt = new Map<number, number>()
  const seconds = new Map<number, number>()
  const stop = session.ctx.events.subscribe((event, payload) => {
    if (event !== 'evaluation.status') return
    const { evaluationId, status } = payload as Events['evaluation.status']
    if (status === 'running') startedAt.set(evaluationId, performance.now())
    if (status === 'completed')
      seconds.set(evaluationId, (performance.now() - startedAt.get(evaluationId)!) / 1000)
  })
  try {
    const evaluations = await runEvaluations(
      session,
      { targets, tasks: [BENCHMARK], settings: BENCHMARK_SETTINGS },
      io
    )
    return { evaluations, seconds }
  } finally {
    stop()
  }
}

/** The mean loss per token of the held-out conversations' answers, scored as the score command scores. */
async function heldOutLoss(session: CliSession, weights: WeightsSource): Promise<number> {
  const input: EngineScoreInput = {
    modelDir: weights.modelDir,
    adapterDir: weights.adapterDir ?? null,
    dataPath: join(demoDataDir(), 'validation.jsonl'),
    cacheDir: graphCacheDir(session.ctx.store.dir)
  }
  const job = session.ctx.jobs.submit('engine.score', input)
  const { rows } = (await waitForJob(
    session,
    job.id,
    'scoring the held-out conversations'
  )) as EngineScoreOutput
  const tokens = rows.reduce((sum, row) => sum + row.tokens, 0)
  return -rows.reduce((sum, row) => sum + row.logprob, 0) / tokens
}

/** What the table compares: the evaluation and the held-out loss, for the base model and the last checkpoint. */
async function evaluateDemo(
  session: CliSession,
  io: CliIO,
  model: ModelSummary,
  runId: number
): Promise<{ base: DemoEvaluation; tuned: DemoEvaluation; checkpointId: number }> {
  const run = await session.call('runs.get', { id: runId })
  const last = run.checkpoints.reduce((a, b) => (b.step > a.step ? b : a))
  const { evaluations, seconds } = await evaluateBoth(session, io, [
    { baseModelId: model.id },
    { checkpointId: last.id }
  ])
  const base = baseModelTarget(session.ctx, 'demo', model.id)
  const checkpoint = checkpointTarget(session.ctx, 'demo', last.id)
  const weights = [base, checkpointWeightsSource(checkpoint.checkpointDir!, checkpoint.modelDir)]
  const [baseResult, tunedResult] = await Promise.all(
    evaluations.map(async (evaluation, i) => ({
      evaluation,
      seconds: seconds.get(evaluation.id) ?? null,
      heldOutLoss: await heldOutLoss(session, weights[i])
    }))
  )
  return { base: baseResult, tuned: tunedResult, checkpointId: last.id }
}

/**
 * The first requests, with what each model answered in the evaluation, and an arena battle for
 * each: the same two answer it blind, for the user to vote on in the app.
 */
async function examples(
  session: CliSession,
  base: EvaluationDetail,
  tuned: EvaluationDetail,
  checkpointId: number
) {
  // Rendered without the chat template, a request is the text the user typed.
  const { examples: requests } = await session.call('evaluations.inspectTask', { task: BENCHMARK })
  const answers = async (id: number) =>
    (await session.call('evaluations.items', { id, limit: EXAMPLES })).items.map((item) =>
      (item.answer.output ?? '').trim()
    )
  const [baseAnswers, tunedAnswers] = [await answers(base.id), await answers(tuned.id)]
  const result = []
  for (const [i, request] of requests.slice(0, EXAMPLES).entries()) {
    const battle = await session.call('arena.start', {
      a: { baseModelId: base.baseModelId! },
      b: { checkpointId },
      prompt: request.prompt,
      chat: true,
      maxNewTokens: GENERATION_TOKENS,
      temperature: 0
    })
    result.push({ prompt: request.prompt, base: baseAnswers[i], tuned: tunedAnswers[i], battleId: battle.id })
  }
  return result
}

function resultTable(base: DemoEvaluation, tuned: DemoEvaluation, trainSeconds: number): string {
  const better = (a: number, b: number, lowerIsBetter: boolean) =>
    (lowerIsBetter ? b < a : b > a) ? 'fine-tuned' : 'base'
  const score = (e: DemoEvaluation) => e.evaluation.scores[e.evaluation.primaryMetric!].value
  const time = (e: DemoEvaluation) => (e.seconds === null ? 'reused' : formatDuration(e.seconds))
  const rows = [
    {
      metric: 'held-out loss (lower is better)',
      base: base.heldOutLoss.toFixed(4),
      tuned: tuned.heldOutLoss.toFixed(4),
      winner: better(base.heldOutLoss, tuned.heldOutLoss, true)
    },
    {
      metric: 'benchmark: mentions name + animal',
      base: `${(100 * score(base)).toFixed(1)}%`,
      tuned: `${(100 * score(tuned)).toFixed(1)}%`,
      winner: better(score(base), score(tuned), false)
    },
    { metric: 'training time', base: '-', tuned: formatDuration(trainSeconds), winner: '' },
    { metric: 'evaluation time', base: time(base), tuned: time(tuned), winner: '' }
  ]
  return formatTable(rows, [
    { header: '', value: (r) => r.metric },
    { header: 'BASE', value: (r) => r.base },
    { header: 'FINE-TUNED', value: (r) => r.tuned },
    { header: 'BETTER', value: (r) => r.winner }
  ])
}

/** Continuation lines of a completion line up under its first line. */
function indent(text: string): string {
  return text.replace(/\n/g, '\n              ')
}

export const demoCommand: Command = {
  words: ['demo'],
  summary: 'Run the whole job on the embedded default model: import, train (LoRA SFT), evaluate, compare.',
  details:
    'Imports the sample dataset (resources/datasets/story-requests) as a dataset version, registers the\n' +
    'embedded stories260K model, fine-tunes it with LoRA SFT, evaluates the base model and the last\n' +
    'checkpoint on the held-out task (resources/benchmarks/story-requests, with the chat template), scores\n' +
    'both on the held-out conversations and prints them side by side; two of the requests become arena\n' +
    'battles to vote on in the app. Everything is recorded in the store; running it again adds a new run\n' +
    "(the base model's evaluation is reused).",
  options: {
    steps: { type: 'string', valueName: 'N', description: 'optimizer steps (default: 2 epochs = 80 steps)' },
    json: JSON_OPTION
  },
  async run(args, io) {
    const steps = args.values.steps === undefined ? undefined : Number(args.values.steps)
    if (steps !== undefined && (!Number.isInteger(steps) || steps < 1)) {
      throw new UsageError(`--steps must be a whole number ≥ 1, got ${args.values.steps}`)
    }
    const summary = await withSession(args, async (session) => {
      io.out(`Finetune Studio demo — store: ${session.ctx.store.dir}`)
      const version = await demoDatasetVersion(session, io)
      const model = await registerBaseModel(session, io)
      const { runId, seconds } = await trainDemoRun(session, io, model, version, steps)
      io.out('evaluating the base model and the fine-tuned model on the held-out benchmark…')
      const { base, tuned, checkpointId } = await evaluateDemo(session, io, model, runId)
      const pairs = await examples(session, base.evaluation, tuned.evaluation, checkpointId)
      return {
        store: session.ctx.store.dir,
        runId,
        checkpointId,
        trainSeconds: seconds,
        base,
        tuned,
        examples: pairs
      }
    })
    if (args.values.json) return io.out(JSON.stringify(summary, null, 2))
    io.out('')
    io.out(resultTable(summary.base, summary.tuned, summary.trainSeconds))
    for (const example of summary.examples) {
      io.out('')
      io.out(`prompt: ${example.prompt}`)
      io.out(`  base:       ${indent(example.base)}`)
      io.out(`  fine-tuned: ${indent(example.tuned)}`)
    }
    io.out('')
    io.out(
      `Both prompts wait in the Arena as blind battles (${summary.examples.map((e) => `#${e.battleId}`).join(', ')}): vote for the better answer there.`
    )
    io.out('Everything above is recorded in the store. Open it with:')
    io.out(`  npm run app -- --store ${summary.store}`)
    io.out(`  npm run cli -- serve --store ${summary.store}`)
  }
}

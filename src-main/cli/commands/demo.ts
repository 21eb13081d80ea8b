/**
 * `finetune-studio demo` (= `npm run demo`): the product's whole job on the embedded default model,
 * through the same API calls the GUI makes — import the sample dataset as a version, register the
 * base model, train the default recipe (LoRA SFT), evaluate base and fine-tuned on the sample
 * benchmark, and show them side by side. Everything lands in the store with its lineage.
 */
import { join } from 'node:path'
import type {
  DatasetVersionSummary,
  EvaluationSummary,
  Events,
  ModelSummary
} from '../../../src-preload/contract'
import { defaultModelDir, resourcesDir } from '../../resources'
import { JSON_OPTION, UsageError, type CliIO, type Command } from '../command'
import { formatTable } from '../format'
import { withSession, type CliSession } from '../session'
import { formatDuration } from '../../jobs/kinds/engine-train'

export const DEMO_DATASET = 'story-requests (demo)'
const BENCHMARK = 'story-requests'

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
  const dir = join(resourcesDir(), 'datasets', 'story-requests')
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

function progressBar(p: Events['run.progress']): string {
  const width = 30
  const filled = Math.round((width * p.step) / Math.max(1, p.totalSteps))
  return (
    `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] step ${p.step}/${p.totalSteps}  ` +
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
    if (tty) process.stderr.write(`\r${progressBar(p)}`)
    else if (decile !== lastDecile) io.err(progressBar(p))
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

async function evaluate(
  session: CliSession,
  target: { baseModelId: number } | { runId: number },
  name: string
) {
  const { evaluation, jobId } = await session.call('evaluations.run', {
    benchmark: BENCHMARK,
    name,
    ...target
  })
  await waitForJob(session, jobId, `evaluation ${name}`)
  const done = (await session.call('evaluations.list', {})).find((e) => e.id === evaluation.id)!
  return done
}

function resultTable(base: EvaluationSummary, tuned: EvaluationSummary, trainSeconds: number): string {
  const better = (a: number, b: number, lowerIsBetter: boolean) =>
    (lowerIsBetter ? b < a : b > a) ? 'fine-tuned' : 'base'
  const rows = [
    {
      metric: 'held-out loss (lower is better)',
      base: base.metrics.held_out_loss.toFixed(4),
      tuned: tuned.metrics.held_out_loss.toFixed(4),
      winner: better(base.metrics.held_out_loss, tuned.metrics.held_out_loss, true)
    },
    {
      metric: 'benchmark: mentions name + animal',
      base: `${(100 * base.metrics.score).toFixed(1)}%`,
      tuned: `${(100 * tuned.metrics.score).toFixed(1)}%`,
      winner: better(base.metrics.score, tuned.metrics.score, false)
    },
    { metric: 'training time', base: '-', tuned: formatDuration(trainSeconds), winner: '' },
    {
      metric: 'evaluation time',
      base: formatDuration(base.metrics.seconds),
      tuned: formatDuration(tuned.metrics.seconds),
      winner: ''
    }
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
    'embedded stories260K model, fine-tunes it with LoRA SFT, evaluates base and fine-tuned model on the\n' +
    'held-out benchmark (resources/benchmarks/story-requests) and prints them side by side. Everything is\n' +
    'recorded in the store; running it again adds a new run.',
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
      const base = await evaluate(session, { baseModelId: model.id }, `${BENCHMARK}: base ${model.name}`)
      const tuned = await evaluate(session, { runId }, `${BENCHMARK}: run ${runId}`)
      const examples = []
      for (const result of (
        await session.call('evaluations.results', { id: base.id, limit: EXAMPLES })
      ).slice(0, EXAMPLES)) {
        examples.push(
          await session.call('comparisons.create', {
            evaluationAId: base.id,
            evaluationBId: tuned.id,
            sampleKey: result.sampleKey
          })
        )
      }
      return { store: session.ctx.store.dir, runId, trainSeconds: seconds, base, tuned, examples }
    })
    if (args.values.json) return io.out(JSON.stringify(summary, null, 2))
    io.out('')
    io.out(resultTable(summary.base, summary.tuned, summary.trainSeconds))
    for (const example of summary.examples) {
      io.out('')
      io.out(`prompt: ${example.prompt}`)
      io.out(`  base:       ${indent(example.outputA)}`)
      io.out(`  fine-tuned: ${indent(example.outputB)}`)
    }
    io.out('')
    io.out('Everything above is recorded in the store. Open it with:')
    io.out(`  npm run app -- --store ${summary.store}`)
    io.out(`  npm run cli -- serve --store ${summary.store}`)
  }
}

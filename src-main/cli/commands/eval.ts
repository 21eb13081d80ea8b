/**
 * `finetune-studio eval`: evaluates a model folder (with a PEFT adapter, or a stored checkpoint) on a
 * task in the lm-evaluation-harness format, through the same call the app makes
 * (evaluations.start), so the result is stored and shows in the app's matrix. Prints lm-eval's
 * results table; `--out` writes the scores and every item as JSON.
 */
import { resolve } from 'node:path'
import type {
  CallInput,
  EvalAdapterRef,
  EvalTargetRef,
  EvaluationDetail,
  EvalItem,
  Events,
  JobSummary
} from '../../../src-preload/contract'
import { ensureModelRegistered } from '../../api/run-launcher'
import { checkOutputFile } from '../../api/write-paths'
import { writeTextFileAtomically } from '../../engine/checkpoint/atomic-write'
import { formatDuration } from '../../jobs/kinds/engine-train'
import {
  flagOption as flag,
  stringOption as string,
  UsageError,
  type CliIO,
  type Command,
  type OptionSpec,
  type ParsedArgs
} from '../command'
import { progressBar } from '../format'
import { storeDirFor, withSession, type CliSession } from '../session'
import { optionalNumber } from './engine-job'
import { outJson, resultsTable, taskFacts } from './eval-report'

const EVAL_OPTIONS: Record<string, OptionSpec> = {
  model: string('DIR', 'HF model folder (registered in the store as a base model if it is not yet)'),
  adapter: string('DIR', 'PEFT LoRA adapter folder over --model (e.g. what train --out wrote)'),
  checkpoint: string('ID', 'a checkpoint a run saved, instead of --model (ids: runs show RUN)'),
  task: string('FILE|NAME', 'a task file (YAML or JSON, lm-eval format) or a built-in (eval tasks)'),
  limit: string('N', 'only the first N documents of each task'),
  'num-fewshot': string('K', "few-shot examples per prompt (default: the task's num_fewshot)"),
  'apply-chat-template': flag("render each prompt with the model's chat template"),
  'system-instruction': string('TEXT', 'a system instruction before each prompt'),
  seed: string('S', 'seed of the few-shot sampler and of sampled generation', { default: '1234' }),
  'batch-size': string('N', 'documents per engine run (default: as many as fit)'),
  'self-correction': flag('generation tasks: ask for a review of each answer and score both'),
  'review-prompt': string('TEXT', 'the review request (with --self-correction)'),
  device: string('cpu|cuda', 'where to run', { default: 'cpu' }),
  out: string('FILE', 'also write the scores and every item as JSON'),
  overwrite: flag('replace OUT if it exists'),
  rerun: flag('evaluate again even if this target, task and settings were evaluated before')
}

type StartInput = CallInput<'evaluations.start'>

function text(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name]
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** The evaluation settings the flags describe; out-of-range values are usage errors. */
function evalSettingsFromArgs(args: ParsedArgs): NonNullable<StartInput['settings']> {
  const device = args.values.device
  if (device !== 'cpu' && device !== 'cuda')
    throw new UsageError(`--device must be cpu or cuda, got ${String(device)}`)
  const selfCorrection = args.values['self-correction'] === true
  const reviewPrompt = text(args, 'review-prompt')
  if (reviewPrompt !== undefined && !selfCorrection)
    throw new UsageError('--review-prompt is the request of --self-correction; give both')
  return {
    limit: optionalNumber(args, 'limit', { integer: true, min: 1, max: 1_000_000 }) ?? null,
    numFewshot: optionalNumber(args, 'num-fewshot', { integer: true, min: 0, max: 64 }) ?? null,
    applyChatTemplate: args.values['apply-chat-template'] === true,
    systemInstruction: text(args, 'system-instruction') ?? null,
    seed: optionalNumber(args, 'seed', { integer: true, min: 0 }),
    batchSize: optionalNumber(args, 'batch-size', { integer: true, min: 1, max: 4096 }) ?? null,
    selfCorrection: selfCorrection ? (reviewPrompt === undefined ? {} : { reviewPrompt }) : null,
    device
  }
}

/** What the flags name: a model folder (+ adapter), registered if needed, or a stored checkpoint. */
async function targetFromArgs(
  session: CliSession,
  args: ParsedArgs
): Promise<EvalTargetRef | EvalAdapterRef> {
  const model = text(args, 'model')
  const adapter = text(args, 'adapter')
  const checkpoint = optionalNumber(args, 'checkpoint', { integer: true, min: 1 })
  if (checkpoint !== undefined) {
    if (model !== undefined || adapter !== undefined)
      throw new UsageError('give --checkpoint or --model (with --adapter), not both')
    return { checkpointId: checkpoint }
  }
  if (model === undefined) throw new UsageError('--model DIR (or --checkpoint ID) is required')
  const registered = await ensureModelRegistered(session.ctx, resolve(model))
  return adapter === undefined
    ? { baseModelId: registered.id }
    : { baseModelId: registered.id, adapterDir: resolve(adapter) }
}

/**
 * Waits for an evaluation job, showing its progress on stderr: a bar redrawn in place on a
 * terminal, else a line per tenth. Ctrl-C cancels it (it stops after the batch in flight).
 */
async function waitForEvaluationJob(session: CliSession, jobId: string, io: CliIO): Promise<JobSummary> {
  const tty = process.stderr.isTTY
  const started = performance.now()
  let shownTenth = -1
  let shownWidth = 0
  const stopListening = session.ctx.events.subscribe((event, payload) => {
    if (event !== 'job.progress' || (payload as Events['job.progress']).jobId !== jobId) return
    const { done, total, message } = payload as Events['job.progress']
    const seconds = (performance.now() - started) / 1000
    const eta = done > 0 ? `  ETA ${formatDuration((seconds * (total - done)) / done)}` : ''
    const line = `${progressBar(done, total)} ${message}${eta}`
    const tenth = Math.floor((10 * done) / Math.max(1, total))
    // Padded over the line before: the next task's count starts shorter.
    if (tty) process.stderr.write(`\r${line.padEnd(shownWidth)}`)
    else if (tenth !== shownTenth) io.err(line)
    shownTenth = tenth
    shownWidth = Math.max(shownWidth, line.length)
  })
  const cancel = (): void => void session.ctx.jobs.cancel(jobId)
  process.once('SIGINT', cancel)
  try {
    const job = await session.ctx.jobs.wait(jobId)
    if (tty && shownTenth >= 0) process.stderr.write('\n')
    return job
  } finally {
    process.off('SIGINT', cancel)
    stopListening()
  }
}

/**
 * Starts evaluations and returns them completed, reused or evaluated now, in the order of
 * evaluations.start's answer (targets × tasks); one that did not complete throws its error.
 */
export async function runEvaluations(
  session: CliSession,
  input: StartInput,
  io: CliIO
): Promise<EvaluationDetail[]> {
  const started = await session.call('evaluations.start', input)
  for (const id of started.reused) {
    io.err(
      `reusing evaluation ${id}: the same weights, task and settings were evaluated before (eval --rerun evaluates again)`
    )
  }
  if (started.jobId !== null) await waitForEvaluationJob(session, started.jobId, io)
  const evaluations = await Promise.all(
    started.evaluations.map((e) => session.call('evaluations.get', { id: e.id }))
  )
  for (const evaluation of evaluations) {
    if (evaluation.status !== 'completed') {
      throw new Error(
        `evaluation ${evaluation.id} ${evaluation.status}: ${evaluation.error ?? 'no reason given'}`
      )
    }
  }
  return evaluations
}

/** Every item of an evaluation in data order, a page of the API's largest at a time. */
async function allItems(session: CliSession, id: number): Promise<EvalItem[]> {
  const items: EvalItem[] = []
  for (;;) {
    const page = await session.call('evaluations.items', { id, limit: 1000, offset: items.length })
    items.push(...page.items)
    if (page.items.length === 0 || items.length >= page.total) return items
  }
}

/** The header line and table `eval` and `eval show` print for a completed evaluation. */
export async function evaluationReport(evaluation: EvaluationDetail): Promise<string> {
  const limit = evaluation.settings?.limit
  const header = [
    `evaluation ${evaluation.id}: ${evaluation.targetLabel} on ${evaluation.task}`,
    `${evaluation.itemCount} documents${limit ? ` (limit ${limit})` : ''}`,
    ...(evaluation.settings?.applyChatTemplate ? ['chat template'] : [])
  ].join(', ')
  return `${header}\n${resultsTable(evaluation, await taskFacts(evaluation))}`
}

export const evalCommand: Command = {
  words: ['eval'],
  summary: 'Evaluate a model, adapter or checkpoint on a task (lm-evaluation-harness format); stored.',
  details: [
    'A task is a built-in (finetune-studio eval tasks) or a task file: docs/EVALUATION.md describes the',
    'format. The same model, task and settings evaluated before are reused unless --rerun. The result is',
    'recorded in the store (eval list, eval show ID, eval matrix) and printed as lm-eval prints it.',
    '--out FILE writes {"task", "metrics": {NAME: {"value", "stderr"}}, "items": [{"index", "target",',
    '"prediction", "correct", "logprobs"?, "output"?}]}, items in data order; prediction is the chosen',
    "choice's index (multiple choice) or the extracted answer (generation). A group's items also name",
    'their "task"; with --self-correction each has its "review" (the answer after review).'
  ].join('\n'),
  options: EVAL_OPTIONS,
  async run(args, io) {
    const task = text(args, 'task')
    if (task === undefined) throw new UsageError('--task FILE|NAME is required')
    const settings = evalSettingsFromArgs(args)
    const outPath = text(args, 'out')
    // Checked before evaluating, so a refused path costs nothing.
    const out =
      outPath === undefined
        ? null
        : checkOutputFile('eval', storeDirFor(args), outPath, {
            overwrite: args.values.overwrite === true,
            overwriteFlag: '--overwrite'
          })
    const { evaluation, items } = await withSession(args, async (session) => {
      const target = await targetFromArgs(session, args)
      const [evaluation] = await runEvaluations(
        session,
        { targets: [target], tasks: [task], settings, rerun: args.values.rerun === true },
        io
      )
      return { evaluation, items: out === null ? [] : await allItems(session, evaluation.id) }
    })
    io.out(await evaluationReport(evaluation))
    if (out !== null) {
      writeTextFileAtomically(out, outJson(evaluation, items), { replace: args.values.overwrite === true })
    }
  }
}

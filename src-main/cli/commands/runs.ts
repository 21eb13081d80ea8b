/**
 * `finetune-studio runs …`: list and show runs, and control them from another process than the one
 * that trains them (the app, `serve`, or another `train`): pause, resume, stop and cancel leave a
 * request the owner carries out within a second, and these commands wait until it has. Resuming an
 * interrupted run and continuing a finished one train here, in the foreground, like `train`.
 */
import type { RunDetail, RunStatus, RunSummary } from '../../../src-preload/contract'
import { formatDuration, formatTrainProgress } from '../../jobs/kinds/engine-train'
import { FINISHED_STATUSES } from '../../store/repos/runs'
import { JSON_OPTION, UsageError, type CliIO, type Command, type ParsedArgs } from '../command'
import { formatTable } from '../format'
import { withSession, type CliSession } from '../session'

const ID_ARGUMENT = [{ name: 'id', description: 'the run id' }]
/** How long a control command waits for the owning process to carry out its request. */
const CONTROL_WAIT_MS = 120_000
const POLL_MS = 200

function runId(args: ParsedArgs, words: string): number {
  const id = Number(args.positionals[0])
  if (!Number.isInteger(id) || id <= 0)
    throw new UsageError(`${words}: ID must be a positive integer, got ${args.positionals[0]}`)
  return id
}

function progressText(run: RunSummary): string {
  return run.progress ? `${run.progress.step}/${run.progress.totalSteps}` : '-'
}

export const runsListCommand: Command = {
  words: ['runs', 'list'],
  summary: 'List training runs, newest first.',
  options: {
    json: JSON_OPTION,
    limit: { type: 'string', valueName: 'N', description: 'at most N runs', default: '50' }
  },
  async run(args, io) {
    const rows = await withSession(args, (s) => s.call('runs.list', { limit: Number(args.values.limit) }))
    if (args.values.json) return io.out(JSON.stringify(rows, null, 2))
    if (rows.length === 0) return io.out('no runs yet')
    io.out(
      formatTable(rows, [
        { header: 'ID', value: (r) => r.id },
        { header: 'NAME', value: (r) => r.name },
        { header: 'RECIPE', value: (r) => r.recipe },
        { header: 'DEVICE', value: (r) => r.device },
        {
          header: 'STATUS',
          value: (r) => r.status + (r.pendingControl ? ` (${r.pendingControl} asked)` : '')
        },
        { header: 'STEP', value: progressText },
        { header: 'CREATED', value: (r) => r.createdAt },
        { header: 'ERROR', value: (r) => r.error ?? '' }
      ])
    )
  }
}

function describeRun(run: RunDetail, io: CliIO): void {
  io.out(`run ${run.id}: ${run.name}`)
  io.out(`status:   ${run.status}${run.error ? ` — ${run.error}` : ''}`)
  if (run.pendingControl) io.out(`pending:  ${run.pendingControl} (asked, not yet carried out)`)
  io.out(`recipe:   ${run.recipe}    device: ${run.device}`)
  if (run.progress) {
    const p = run.progress
    io.out(
      `progress: step ${p.step}/${p.totalSteps}  loss ${p.loss.toFixed(4)}  elapsed ${formatDuration(p.elapsedSeconds)}` +
        (FINISHED_STATUSES.includes(run.status) ? '' : `  ETA ${formatDuration(p.etaSeconds)}`)
    )
  }
  if (run.owner) io.out(`owner:    pid ${run.owner.pid} (${run.owner.alive ? 'alive' : 'gone'})`)
  io.out(`created:  ${run.createdAt}  started: ${run.startedAt ?? '-'}  finished: ${run.finishedAt ?? '-'}`)
  for (const s of run.segments)
    io.out(`segment:  ${s.kind} from step ${s.fromStep} of ${s.totalSteps} (${s.at})`)
  io.out(`folder:   ${run.outDir ?? '-'}`)
  io.out(`config:   ${JSON.stringify(run.config)}`)
  for (const c of run.checkpoints) io.out(`checkpoint ${c.id} (step ${c.step}): ${c.path}`)
}

export const runsShowCommand: Command = {
  words: ['runs', 'show'],
  summary:
    'Show one run: status (with the error of a failed run), progress, segments, config and checkpoints.',
  positionals: ID_ARGUMENT,
  options: { json: JSON_OPTION },
  async run(args, io) {
    const id = runId(args, 'runs show')
    const run = await withSession(args, (s) => s.call('runs.get', { id }))
    if (args.values.json) return io.out(JSON.stringify(run, null, 2))
    describeRun(run, io)
  }
}

export const runsLogCommand: Command = {
  words: ['runs', 'log'],
  summary: "Print a run's log: trainer messages, status changes, the training process's errors.",
  positionals: ID_ARGUMENT,
  options: { json: JSON_OPTION },
  async run(args, io) {
    const id = runId(args, 'runs log')
    const lines = await withSession(args, (s) => s.call('runs.log', { id, limit: 5000 }))
    if (args.values.json) return io.out(JSON.stringify(lines, null, 2))
    for (const line of lines) io.out(`${line.at}  ${line.level.padEnd(5)}  ${line.message}`)
  }
}

/** Polls the store until the run's status is one of `statuses` (or it has ended), or the wait is over. */
async function waitForStatus(session: CliSession, id: number, statuses: RunStatus[]): Promise<RunSummary> {
  const deadline = Date.now() + CONTROL_WAIT_MS
  for (;;) {
    const run = session.ctx.store.runs.getSummary(id)!
    if (statuses.includes(run.status) || FINISHED_STATUSES.includes(run.status) || Date.now() > deadline) {
      return run
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}

function reportStatus(run: RunSummary, wanted: RunStatus[], io: CliIO): void {
  const step = run.progress ? ` at step ${run.progress.step}/${run.progress.totalSteps}` : ''
  if (wanted.includes(run.status)) return io.out(`run ${run.id} ${run.status}${step}`)
  throw new Error(
    `run ${run.id} is ${run.status}${step}` +
      (run.error
        ? `: ${run.error}`
        : run.pendingControl
          ? ` (its ${run.pendingControl} request is still pending)`
          : '')
  )
}

/**
 * Trains a run this session has queued (resume of an interrupted run, continue) in the foreground:
 * a progress line per step and the trainer's messages on stderr; Ctrl-C stops it with a checkpoint.
 */
export async function trainHere(session: CliSession, run: RunSummary, io: CliIO): Promise<RunSummary> {
  const ctx = session.ctx
  const unsubscribe = ctx.events.subscribe((event, payload) => {
    if (event === 'run.progress' && 'runId' in payload && payload.runId === run.id) {
      io.err(formatTrainProgress(payload as Parameters<typeof formatTrainProgress>[0]))
    } else if (event === 'job.log' && 'jobId' in payload && payload.jobId === ctx.runs.jobIdOf(run.id)) {
      const log = payload as { level: string; message: string }
      io.err(log.level === 'info' ? log.message : `${log.level}: ${log.message}`)
    }
  })
  const onInterrupt = () => {
    if (ctx.store.runs.getSummary(run.id)?.status === 'stopping') process.exit(130)
    io.err('stopping after the current step and saving a checkpoint (Ctrl-C again to abort)')
    ctx.runs.stop(run.id)
  }
  process.on('SIGINT', onInterrupt)
  try {
    const ended = await ctx.runs.waitForRun(run.id)
    // This process evaluates the run's last checkpoints: closing the session now would cut them short.
    await ctx.runs.benchmarksSettled(run.id)
    return ended
  } finally {
    process.off('SIGINT', onInterrupt)
    unsubscribe()
  }
}

function reportEnd(run: RunSummary, io: CliIO): void {
  if (run.status === 'failed' || run.status === 'interrupted' || run.status === 'cancelled') {
    throw new Error(`run ${run.id} ${run.status}${run.error ? `: ${run.error}` : ''}`)
  }
  io.out(`run ${run.id} ${run.status} at step ${run.progress?.step ?? 0}/${run.progress?.totalSteps ?? '?'}`)
}

/** A control command: ask, then wait until the owning process has done it. */
function controlCommand(verb: 'pause' | 'stop' | 'cancel', summary: string, wanted: RunStatus[]): Command {
  return {
    words: ['runs', verb],
    summary,
    positionals: ID_ARGUMENT,
    async run(args, io) {
      const id = runId(args, `runs ${verb}`)
      await withSession(args, async (session) => {
        await session.call(`runs.${verb}`, { id })
        reportStatus(await waitForStatus(session, id, wanted), wanted, io)
      })
    }
  }
}

export const runsPauseCommand = controlCommand(
  'pause',
  'Pause a running run at the next step boundary (the model stays loaded in its process).',
  ['paused']
)
export const runsStopCommand = controlCommand(
  'stop',
  'Stop a run: it saves a checkpoint after the step in flight, then ends as stopped.',
  ['stopped', 'completed', 'cancelled']
)
export const runsCancelCommand = controlCommand('cancel', 'Cancel a run now, without a checkpoint.', [
  'cancelled'
])

export const runsResumeCommand: Command = {
  words: ['runs', 'resume'],
  summary:
    'Resume a paused run; or train a stopped or interrupted run from its last checkpoint here, to the same total.',
  positionals: ID_ARGUMENT,
  async run(args, io) {
    const id = runId(args, 'runs resume')
    await withSession(args, async (session) => {
      const before = await session.call('runs.get', { id })
      const run = await session.call('runs.resume', { id })
      if (before.status !== 'paused') return reportEnd(await trainHere(session, run, io), io)
      reportStatus(await waitForStatus(session, id, ['running']), ['running', 'completed'], io)
    })
  }
}

export const runsContinueCommand: Command = {
  words: ['runs', 'continue'],
  summary: 'Train a completed, stopped or interrupted run further from its last checkpoint, here.',
  details:
    'The optimizer state comes from the checkpoint and the run keeps its id: its metrics continue. The\n' +
    'learning-rate schedule is re-planned over the new total from the checkpoint on (a constant schedule\n' +
    'is unchanged); the run records the continuation as a new segment.',
  positionals: ID_ARGUMENT,
  options: {
    steps: { type: 'string', valueName: 'N', description: 'add N optimizer steps' },
    epochs: { type: 'string', valueName: 'N', description: 'add N epochs (runs planned in epochs)' }
  },
  async run(args, io) {
    const id = runId(args, 'runs continue')
    const count = (name: 'steps' | 'epochs') => {
      const value = args.values[name]
      if (value === undefined) return undefined
      const n = Number(value)
      if (!Number.isInteger(n) || n < 1)
        throw new UsageError(`--${name} must be a whole number ≥ 1, got ${value}`)
      return n
    }
    const addSteps = count('steps')
    const addEpochs = count('epochs')
    if ((addSteps === undefined) === (addEpochs === undefined))
      throw new UsageError('give --steps or --epochs')
    await withSession(args, async (session) => {
      const run = await session.call('runs.continue', { id, addSteps, addEpochs })
      reportEnd(await trainHere(session, run, io), io)
    })
  }
}

export const runsDeleteCommand: Command = {
  words: ['runs', 'delete'],
  summary:
    'Delete a run with its metrics, checkpoints, log and its folder in the store (not while it is active).',
  positionals: ID_ARGUMENT,
  async run(args, io) {
    const id = runId(args, 'runs delete')
    const { deleted } = await withSession(args, (s) => s.call('runs.delete', { id }))
    io.out(deleted ? `run ${id} deleted` : `run ${id} does not exist`)
  }
}

/**
 * The runs one API context queues and trains, and its side of run control across processes.
 *
 * Ownership. Every API context (the app, `serve`, a CLI command) has an owner id; a run it queues or
 * trains records that id, its process id and a heartbeat the manager refreshes every
 * HEARTBEAT_INTERVAL_MS. Another process that wants to pause, resume, stop or cancel the run leaves
 * a control request in the run's row; the owner picks it up on its next tick and relays it to the
 * training process. A run whose owner is gone (process dead, heartbeat stale) is marked interrupted
 * by whichever process notices first — at startup, and whenever runs are listed — never completed.
 *
 * Queue. One run trains at a time per device (cpu, cuda), across every process sharing the store:
 * a queued run starts only when no other run is active on its device (checked and claimed in one
 * IMMEDIATE transaction, so two processes cannot both take the device).
 *
 * Training runs in a child process (JobRunner isolation 'process'): cancel kills it with SIGKILL and
 * a crash of the trainer cannot take the API process down. Its JSON-lines events become metrics
 * (written in batches), checkpoints, segments, progress and run.* events.
 *
 * Status mapping at the end of a training job: the trainer's result 'completed' or 'stopped'; a
 * cancel asked for here → cancelled; a process killed from outside (SIGKILL, SIGTERM, …) or a
 * failure whose cause can pass (a full disk, a lost GPU: PASSING_FAILURES) → interrupted
 * (resumable from the last checkpoint, with the error saying what to do); any other failure →
 * failed, with the trainer's error.
 *
 * Files. What a training process killed mid-write leaves in a run's folder (a temporary checkpoint
 * or export folder) is removed when a manager starts, for every run, and when a run trains again.
 *
 * Benchmarks. A run that names benchmark tasks has the checkpoints at its benchmark steps (and the
 * one a stop saves) evaluated as they are recorded (run-benchmarks.ts); a resumed run has those up
 * to where it goes on evaluated again, which reuses what was finished and redoes what an
 * interruption cut short.
 */
import { randomUUID } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type {
  Device,
  Events,
  MetricPoint,
  RunControl,
  RunLogLine,
  RunProgress,
  RunSegment,
  RunStatus,
  RunSummary
} from '../../src-preload/contract'
import { CHECKPOINTS_DIR, removeStaleRunTemporaries, TRAINER_STATE_FILE } from '../engine/train/checkpoints'
import {
  resolveTrainConfig,
  type TrainConfig,
  type TrainEvent,
  type TrainResult
} from '../engine/train/trainer'
import type { JobRunner } from '../jobs/runner'
import type { Store } from '../store'
import { HEARTBEAT_INTERVAL_MS, ownerAlive } from '../store/owner'
import { ACTIVE_STATUSES, FINISHED_STATUSES, type Checkpoint, type RunOwner } from '../store/repos/runs'
import { inTransaction } from '../store/repos/sql'
import type { ApiContext } from './context'
import { ApiError, notFound } from './errors'
import type { EventBus } from './events'
import { benchmarkPlanOf, isBenchmarkStep, RunBenchmarks, type BenchmarkPlan } from './run-benchmarks'

/** Why a training job was (re)started; recorded as the kind of the segment it opens. */
export type SegmentKind = RunSegment['kind']

interface QueuedRun {
  runId: number
  device: Device
  config: TrainConfig
  segment: SegmentKind
}

/** A run this manager is training right now. */
interface TrainingRun {
  runId: number
  jobId: string
  device: Device
  segment: SegmentKind
  metrics: MetricsWriter
  progress: RunProgress | null
  progressDirty: boolean
  /** What the user asked for that decides the final status. */
  requested: 'stop' | 'cancel' | null
  /** The steps this training job trains to (from its start event). */
  totalSteps: number | null
  benchmarks: BenchmarkPlan | null
}

/** Signals that mean someone ended the process, not that training went wrong. */
const EXTERNAL_KILLS: readonly string[] = ['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP']

/**
 * Failures whose cause can pass, recognised by the error's text (the errno code a failed write
 * names; the CUDA runtime's words for a device that is gone), with what the user should do.
 */
const PASSING_FAILURES: readonly { cause: RegExp; advice: string }[] = [
  {
    cause: /\b(ENOSPC|EDQUOT)\b/,
    advice: 'the disk is full: free space, then resume the run from its last checkpoint'
  },
  {
    cause:
      /CUDA failure (46|100|999)\b|no CUDA-capable device|busy or unavailable|fallen off the bus|cudaErrorDevicesUnavailable|cudaErrorNoDevice/,
    advice: 'the GPU was lost: once it is back, resume the run from its last checkpoint'
  }
]

/** What to do about a failure whose cause can pass; null for any other failure. */
export function adviceForPassingFailure(error: string): string | null {
  return PASSING_FAILURES.find(({ cause }) => cause.test(error))?.advice ?? null
}

/**
 * Removes what training processes killed mid-write left in the runs' folders. A folder that cannot
 * be cleaned (a user's --out made read-only) is left as it is: the next start tries again.
 */
function removeStaleRunFiles(store: Store): void {
  for (const outDir of store.runs.outDirs()) {
    try {
      removeStaleRunTemporaries(outDir)
    } catch (error) {
      console.warn(`run manager: cannot clean ${outDir}: ${(error as Error).message}`)
    }
  }
}

/** Metric points are written in batches: one transaction per second or per 64 points, not per step. */
class MetricsWriter {
  private pending: MetricPoint[] = []
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly store: Store,
    private readonly runId: number
  ) {}

  add(points: MetricPoint[]): void {
    this.pending.push(...points)
    if (this.pending.length >= 64) this.flush()
    else this.timer ??= setTimeout(() => this.flush(), 1000)
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    if (this.pending.length === 0) return
    this.store.runs.appendMetrics(this.runId, this.pending)
    this.pending = []
  }
}

function isFinished(status: RunStatus): boolean {
  return FINISHED_STATUSES.includes(status)
}

export class RunManager {
  readonly owner: RunOwner = { id: randomUUID(), pid: process.pid }
  private readonly queue: QueuedRun[] = []
  private readonly training = new Map<number, TrainingRun>()
  /** Runs owned by other processes that this one relays events about: last status and step seen. */
  private readonly watched = new Map<number, { status: RunStatus; step: number | null }>()
  private readonly waiters = new Map<number, ((run: RunSummary) => void)[]>()
  /** The trainer's result of the last job of each run this manager trained (for the CLI's summary). */
  private readonly results = new Map<number, TrainResult>()
  private readonly timer: NodeJS.Timeout
  private disposed = false
  private readonly store: Store
  private readonly jobs: JobRunner
  private readonly events: EventBus
  private readonly benchmarks: RunBenchmarks

  /** `services`: the rest of its API context (benchmarks start evaluations as any caller does). */
  constructor(services: Omit<ApiContext, 'runs'>) {
    this.store = services.store
    this.jobs = services.jobs
    this.events = services.events
    this.benchmarks = new RunBenchmarks({ ...services, runs: this, transport: 'direct' }, (...line) =>
      this.log(...line)
    )
    this.recoverOrphans()
    removeStaleRunFiles(this.store)
    // Runs other processes train are watched from now on: their later changes become events here.
    this.relayOtherProcesses()
    this.timer = setInterval(() => this.tick(), HEARTBEAT_INTERVAL_MS)
    this.timer.unref()
  }

  // -------------------------------------------------------------------------------------------
  // Queue
  // -------------------------------------------------------------------------------------------

  /** Queues a run this manager owns (status queued, claimed) for training with `config`. */
  enqueue(runId: number, config: TrainConfig, segment: SegmentKind): void {
    this.queue.push({ runId, device: config.device, config, segment })
    this.emitStatus(runId)
    this.pump()
  }

  /** Resolves when the run has ended (any finished status), whichever process trains it. */
  waitForRun(runId: number): Promise<RunSummary> {
    const run = this.store.runs.getSummary(runId)
    if (!run) return Promise.reject(notFound('run', runId))
    if (isFinished(run.status)) return Promise.resolve(run)
    return new Promise((resolve) => this.waiters.set(runId, [...(this.waiters.get(runId) ?? []), resolve]))
  }

  /** Resolves once the benchmark evaluations started so far for the run are over. */
  benchmarksSettled(runId: number): Promise<void> {
    return this.benchmarks.settled(runId)
  }

  /** The process that trains the run, when this manager trains it. */
  trainingPid(runId: number): number | null {
    const run = this.training.get(runId)
    return run ? this.jobs.pid(run.jobId) : null
  }

  /** The job that trains the run now, when this manager trains it. */
  jobIdOf(runId: number): string | null {
    return this.training.get(runId)?.jobId ?? null
  }

  /** What the trainer returned when the run's last job here ended (null if it returned nothing). */
  resultOf(runId: number): TrainResult | null {
    return this.results.get(runId) ?? null
  }

  trainingPids(): number[] {
    return [...this.training.values()].map((run) => this.jobs.pid(run.jobId)).filter((pid) => pid !== null)
  }

  /** Starts the first queued run of each device whose device is free. */
  private pump(): void {
    if (this.disposed) return
    const tried = new Set<Device>()
    for (const queued of [...this.queue]) {
      if (tried.has(queued.device)) continue
      tried.add(queued.device)
      if (!this.claimDevice(queued)) continue
      this.queue.splice(this.queue.indexOf(queued), 1)
      this.launch(queued)
    }
  }

  /** Sets the run running if no other run is active on its device in any live process; atomically. */
  private claimDevice(queued: QueuedRun): boolean {
    const claimed = inTransaction(this.store.db, () => {
      const busy = this.store.runs
        .claimed()
        .some(
          (other) =>
            other.id !== queued.runId &&
            other.device === queued.device &&
            ACTIVE_STATUSES.includes(other.status) &&
            (other.ownerId === this.owner.id ||
              (other.ownerPid !== null && ownerAlive(other.ownerPid, other.heartbeatAt)))
        )
      if (!busy) this.store.runs.setStatus(queued.runId, 'running')
      return !busy
    })()
    if (claimed) this.emitStatus(queued.runId)
    return claimed
  }

  private launch(queued: QueuedRun): void {
    const { runId, config } = queued
    const metrics = new MetricsWriter(this.store, runId)
    const job = this.jobs.submit('engine.train', config, {
      isolation: 'process',
      lane: `train:${config.device}`,
      cancelPolicy: 'cooperative',
      onOutput: this.trainEventSink(runId),
      onLog: (level, message) => this.log(runId, level, message),
      onPauseChange: (paused) => this.onPauseChange(runId, paused)
    })
    const run: TrainingRun = {
      runId,
      jobId: job.id,
      device: config.device,
      segment: queued.segment,
      metrics,
      progress: null,
      progressDirty: false,
      requested: null,
      totalSteps: null,
      benchmarks: benchmarkPlanOf(this.store.runs.getRecord(runId)!.config)
    }
    this.training.set(runId, run)
    void this.jobs.wait(job.id).then(() => this.onJobEnd(run))
  }

  // -------------------------------------------------------------------------------------------
  // Control (this process's side; handlers call these)
  // -------------------------------------------------------------------------------------------

  pause(runId: number): RunSummary {
    const run = this.requireRun(runId, 'runs.pause')
    const local = this.training.get(runId)
    if (run.status === 'paused') return run
    if (run.status !== 'running') throw this.refuse('runs.pause', run, 'only a running run can be paused')
    if (local) {
      if (!this.jobs.pause(local.jobId))
        throw new ApiError('conflict', `runs.pause: run ${runId} has no training process yet; try again`)
      this.log(runId, 'info', 'pause requested: the run pauses after the step in flight')
      return this.summary(runId)
    }
    return this.requestFromOwner(run, 'pause')
  }

  resume(runId: number): RunSummary {
    const run = this.requireRun(runId, 'runs.resume')
    if (run.status === 'interrupted' || run.status === 'stopped') return this.resumeFromCheckpoint(runId)
    if (run.status !== 'paused' && run.status !== 'running') {
      throw this.refuse('runs.resume', run, 'only a paused, stopped or interrupted run can be resumed')
    }
    // Resuming a running run withdraws a pause asked for and not carried out yet.
    const local = this.training.get(runId)
    if (local) {
      this.jobs.resume(local.jobId)
      return this.summary(runId)
    }
    if (run.status === 'running') {
      if (run.pendingControl === 'pause') this.store.runs.setControl(runId, null)
      return this.summary(runId)
    }
    return this.requestFromOwner(run, 'resume')
  }

  stop(runId: number): RunSummary {
    const run = this.requireRun(runId, 'runs.stop')
    if (run.status === 'stopping') return run
    if (run.status === 'queued') return this.cancel(runId)
    if (run.status !== 'running' && run.status !== 'paused') {
      throw this.refuse('runs.stop', run, 'only a queued, running or paused run can be stopped')
    }
    const local = this.training.get(runId)
    if (!local) return this.requestFromOwner(run, 'stop')
    local.requested = 'stop'
    this.jobs.cancel(local.jobId)
    this.setStatus(runId, 'stopping')
    this.log(runId, 'info', 'stop requested: saving a checkpoint after the step in flight')
    return this.summary(runId)
  }

  cancel(runId: number): RunSummary {
    const run = this.requireRun(runId, 'runs.cancel')
    const queued = this.queue.find((q) => q.runId === runId)
    if (queued) {
      this.queue.splice(this.queue.indexOf(queued), 1)
      this.log(runId, 'info', 'cancelled while queued')
      this.finish(runId, 'cancelled', null)
      return this.summary(runId)
    }
    const local = this.training.get(runId)
    if (local) {
      local.requested = 'cancel'
      this.jobs.terminate(local.jobId)
      this.log(runId, 'info', 'cancel requested: the training process is ended without a checkpoint')
      return this.summary(runId)
    }
    if (isFinished(run.status)) throw this.refuse('runs.cancel', run, 'it has ended already')
    return this.requestFromOwner(run, 'cancel')
  }

  /**
   * Queues an interrupted or stopped run again from its last checkpoint with the same plan (exact
   * resume: the steps after the checkpoint compute what the uninterrupted run would have). Points
   * recorded after the checkpoint by an interrupted attempt are dropped; the resumed run recomputes
   * them.
   */
  resumeFromCheckpoint(runId: number): RunSummary {
    return this.requeue(runId, 'resume', (config) => config)
  }

  /**
   * Queues a finished run again from its last checkpoint with a new plan: `plan` gets the stored
   * training configuration (resumeFrom already set) and returns the one to train with.
   */
  requeue(runId: number, segment: SegmentKind, plan: (config: TrainConfig) => TrainConfig): RunSummary {
    const record = this.store.runs.getRecord(runId)
    if (!record) throw notFound('run', runId)
    const checkpoint = latestCheckpointOf(this.store, runId)
    if (segment === 'continue' && !checkpoint) {
      throw new ApiError('conflict', `runs.continue: run ${runId} has no checkpoint to continue from`)
    }
    const operation = segment === 'continue' ? 'runs.continue' : 'runs.resume'
    let config: TrainConfig
    try {
      const stored = record.config as unknown as TrainConfig
      config = resolveTrainConfig(plan({ ...stored, resumeFrom: checkpoint?.path ?? null }))
    } catch (error) {
      throw new ApiError('conflict', `${operation}: run ${runId}: ${(error as Error).message}`)
    }
    this.store.runs.deleteMetricsAfter(runId, checkpoint?.step ?? 0)
    this.store.runs.setConfig(runId, { ...record.config, ...config })
    this.store.runs.claim(runId, this.owner)
    this.store.runs.setStatus(runId, 'queued')
    this.log(
      runId,
      'info',
      checkpoint
        ? `${segment === 'continue' ? 'continuing' : 'resuming'} from ${checkpoint.path} (step ${checkpoint.step})`
        : 'no checkpoint was saved: training starts over from step 0'
    )
    this.enqueue(runId, config, segment)
    return this.summary(runId)
  }

  private requestFromOwner(run: RunSummary, control: RunControl): RunSummary {
    const record = this.store.runs.getRecord(run.id)!
    if (!record.owner?.alive) {
      this.recoverOrphans()
      throw new ApiError(
        'conflict',
        `runs.${control}: run ${run.id} was ${run.status} in a process that is gone; it is interrupted now: resume it`
      )
    }
    this.store.runs.setControl(run.id, control)
    return this.summary(run.id)
  }

  /** A control request left by another process for a run this manager owns. */
  private applyControl(runId: number, control: RunControl): void {
    try {
      if (control === 'pause') this.pause(runId)
      else if (control === 'resume') this.resume(runId)
      else if (control === 'stop') this.stop(runId)
      else this.cancel(runId)
    } catch (error) {
      this.log(runId, 'warn', `${control} request from another process ignored: ${(error as Error).message}`)
    }
  }

  // -------------------------------------------------------------------------------------------
  // The training job's side
  // -------------------------------------------------------------------------------------------

  /** Turns the training job's JSON-lines output into store rows and run.* events. */
  private trainEventSink(runId: number): (text: string) => void {
    let buffer = ''
    return (text) => {
      buffer += text
      let newline: number
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 1)
        const run = this.training.get(runId)
        if (run && line.trim() !== '') this.onTrainEvent(run, JSON.parse(line) as TrainEvent)
      }
    }
  }

  private onTrainEvent(run: TrainingRun, event: TrainEvent): void {
    const { runId } = run
    if (event.type === 'start') {
      run.totalSteps = event.totalSteps
      this.addSegment(runId, { kind: run.segment, fromStep: event.startStep, totalSteps: event.totalSteps })
      this.benchmarkUpTo(run, event.startStep)
    } else if (event.type === 'step') {
      run.metrics.add([
        { step: event.step, name: 'loss', value: event.loss },
        { step: event.step, name: 'lr', value: event.lr },
        { step: event.step, name: 'grad_norm', value: event.gradNorm },
        { step: event.step, name: 'tokens_per_s', value: event.tokensPerSecond },
        ...Object.entries(event.metrics).map(([name, value]) => ({
          step: event.step,
          name: `recipe/${name}`,
          value
        }))
      ])
      run.progress = {
        step: event.step,
        totalSteps: event.totalSteps,
        epoch: event.epoch,
        loss: event.loss,
        lr: event.lr,
        gradNorm: event.gradNorm,
        tokensPerSecond: event.tokensPerSecond,
        elapsedSeconds: event.elapsedSeconds,
        etaSeconds: event.etaSeconds
      }
      run.progressDirty = true
      this.events.emit('run.progress', { runId, ...run.progress })
    } else if (event.type === 'eval') {
      run.metrics.add([{ step: event.step, name: 'eval_loss', value: event.loss }])
    } else {
      run.metrics.flush()
      const checkpoint = recordCheckpoint(this.store, runId, event.step, event.dir)
      const plan = run.benchmarks
      if (plan && (run.requested === 'stop' || isBenchmarkStep(plan, event.step, run.totalSteps))) {
        this.benchmarks.evaluate(runId, [checkpoint], plan, run.device)
      }
    }
  }

  /**
   * A resumed run's checkpoints at benchmark steps up to where it goes on: evaluations an
   * interruption cut short are made now; finished ones are reused.
   */
  private benchmarkUpTo(run: TrainingRun, startStep: number): void {
    const plan = run.benchmarks
    if (!plan || startStep === 0) return
    const due = this.store.runs
      .checkpoints(run.runId)
      .filter(
        (checkpoint) => checkpoint.step <= startStep && isBenchmarkStep(plan, checkpoint.step, run.totalSteps)
      )
    if (due.length > 0) this.benchmarks.evaluate(run.runId, due, plan, run.device)
  }

  private addSegment(runId: number, segment: Omit<RunSegment, 'at'>): void {
    const config = this.store.runs.getRecord(runId)!.config
    const segments = [...(Array.isArray(config.segments) ? (config.segments as RunSegment[]) : [])]
    segments.push({ ...segment, at: new Date().toISOString() })
    this.store.runs.setConfig(runId, { ...config, segments })
  }

  private onPauseChange(runId: number, paused: boolean): void {
    const run = this.training.get(runId)
    if (!run || run.requested) return
    run.metrics.flush()
    this.writeProgress(run)
    const step = run.progress?.step ?? 0
    this.setStatus(runId, paused ? 'paused' : 'running')
    this.log(runId, 'info', paused ? `paused after step ${step}` : `resumed after step ${step}`)
  }

  private onJobEnd(run: TrainingRun): void {
    const { runId } = run
    this.training.delete(runId)
    if (this.disposed) return
    run.metrics.flush()
    this.writeProgress(run)
    const job = this.jobs.get(run.jobId)!
    const exit = this.jobs.exitOf(run.jobId)
    const result = job.result as TrainResult | undefined
    if (result) this.results.set(runId, result)
    let status: RunStatus
    let error: string | null = null
    if (run.requested === 'cancel') {
      status = 'cancelled'
    } else if (result && (job.status === 'completed' || job.status === 'cancelled')) {
      status = result.status
    } else if (exit?.signal && EXTERNAL_KILLS.includes(exit.signal)) {
      status = 'interrupted'
      error = `the training process was killed (${exit.signal}); resume the run from its last checkpoint`
    } else {
      error = job.error ?? `the training job ended as ${job.status}`
      const advice = adviceForPassingFailure(error)
      status = advice ? 'interrupted' : 'failed'
      if (advice) error = `${error} — ${advice}`
    }
    this.log(runId, status === 'failed' ? 'error' : 'info', error ? `${status}: ${error}` : status)
    this.finish(runId, status, error)
    this.pump()
  }

  private writeProgress(run: TrainingRun): void {
    if (!run.progress || !run.progressDirty) return
    this.store.runs.setProgress(run.runId, run.progress)
    run.progressDirty = false
  }

  // -------------------------------------------------------------------------------------------
  // Heartbeat, control requests, orphans and relayed events
  // -------------------------------------------------------------------------------------------

  private tick(): void {
    if (this.disposed) return
    try {
      this.store.runs.heartbeat(this.owner.id)
      for (const { id, control } of this.store.runs.takeControls(this.owner.id))
        this.applyControl(id, control)
      for (const run of this.training.values()) this.writeProgress(run)
      this.recoverOrphans()
      this.relayOtherProcesses()
      this.settleWaiters()
      this.pump()
    } catch (error) {
      // A busy or closing database must not kill the timer; the next tick tries again.
      if (!this.store.db.open) clearInterval(this.timer)
      else console.error(`run manager: ${(error as Error).message}`)
    }
  }

  /**
   * Marks interrupted every queued or active run whose owner is gone (process ended, heartbeat
   * stale). Returns their ids.
   */
  recoverOrphans(): number[] {
    const recovered: number[] = []
    for (const run of this.store.runs.claimed()) {
      if (run.ownerId === this.owner.id) continue
      if (run.ownerPid !== null && ownerAlive(run.ownerPid, run.heartbeatAt)) continue
      const who = run.ownerPid === null ? 'no process owns it' : `its process (pid ${run.ownerPid}) is gone`
      const error = `${who}; it was ${run.status}: resume it from its last checkpoint`
      if (!this.store.runs.interruptIfOwnedBy(run.id, run.ownerId, error)) continue
      recovered.push(run.id)
      this.log(run.id, 'warn', `interrupted: ${error}`)
      this.emitStatus(run.id)
    }
    return recovered
  }

  /** Emits run.status / run.progress for runs other processes train, as their rows change. */
  private relayOtherProcesses(): void {
    for (const run of this.store.runs.claimed()) {
      if (run.ownerId !== this.owner.id && !this.watched.has(run.id)) {
        this.watched.set(run.id, {
          status: run.status,
          step: this.store.runs.getSummary(run.id)?.progress?.step ?? null
        })
      }
    }
    for (const [runId, seen] of this.watched) {
      const run = this.store.runs.getSummary(runId)
      if (!run) {
        this.watched.delete(runId)
        continue
      }
      if (run.progress && run.progress.step !== seen.step) {
        seen.step = run.progress.step
        this.events.emit('run.progress', { runId, ...run.progress })
      }
      if (run.status !== seen.status) {
        seen.status = run.status
        this.events.emit('run.status', { runId, status: run.status, error: run.error })
      }
      if (isFinished(run.status) || this.training.has(runId)) this.watched.delete(runId)
    }
  }

  private settleWaiters(): void {
    for (const runId of this.waiters.keys()) {
      const run = this.store.runs.getSummary(runId)
      if (!run || isFinished(run.status)) this.resolveWaiters(runId, run)
    }
  }

  private resolveWaiters(runId: number, run: RunSummary | null): void {
    const waiting = this.waiters.get(runId)
    this.waiters.delete(runId)
    if (run) for (const resolve of waiting ?? []) resolve(run)
  }

  /**
   * The context is closing: runs it queues or trains are marked interrupted (their processes are
   * killed by the job runner next), so no run is left looking active.
   */
  dispose(): void {
    if (this.disposed) return
    clearInterval(this.timer)
    this.benchmarks.dispose()
    const owned = [...this.queue.map((q) => q.runId), ...this.training.keys()]
    for (const runId of owned) {
      const run = this.training.get(runId)
      run?.metrics.flush()
      if (run) this.writeProgress(run)
      const error =
        'the process that trained it closed while it was active: resume it from its last checkpoint'
      if (this.store.runs.interruptIfOwnedBy(runId, this.owner.id, error)) {
        this.log(runId, 'warn', `interrupted: ${error}`)
        this.emitStatus(runId)
      }
      this.resolveWaiters(runId, this.store.runs.getSummary(runId))
    }
    this.queue.length = 0
    this.disposed = true
  }

  // -------------------------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------------------------

  private requireRun(runId: number, operation: string): RunSummary {
    this.recoverOrphans()
    const run = this.store.runs.getSummary(runId)
    if (!run) throw new ApiError('not_found', `${operation}: run ${runId} does not exist`)
    return run
  }

  private refuse(operation: string, run: RunSummary, why: string): ApiError {
    return new ApiError('conflict', `${operation}: run ${run.id} is ${run.status}; ${why}`)
  }

  private summary(runId: number): RunSummary {
    return this.store.runs.getSummary(runId)!
  }

  private setStatus(runId: number, status: RunStatus, error: string | null = null): void {
    this.store.runs.setStatus(runId, status, error)
    this.emitStatus(runId)
  }

  private finish(runId: number, status: RunStatus, error: string | null): void {
    this.setStatus(runId, status, error)
    this.resolveWaiters(runId, this.summary(runId))
  }

  private emitStatus(runId: number): void {
    const run = this.store.runs.getSummary(runId)
    if (run) this.events.emit('run.status', { runId, status: run.status, error: run.error })
  }

  log(runId: number, level: RunLogLine['level'], message: string): void {
    const line = this.store.runs.appendLog(runId, level, message)
    this.events.emit('run.log', line satisfies Events['run.log'])
  }
}

// ---------------------------------------------------------------------------------------------
// Checkpoints on disk
// ---------------------------------------------------------------------------------------------

/** The run's checkpoint row for that step, recorded unless it has one already (a resumed run may save it again). */
function recordCheckpoint(store: Store, runId: number, step: number, path: string): Checkpoint {
  return (
    store.runs.checkpoints(runId).find((c) => c.step === step) ??
    store.runs.addCheckpoint(runId, { step, path, metrics: {} })
  )
}

/**
 * The run's newest complete checkpoint. The folder is the truth: checkpoints are renamed into place
 * whole, and one may have been written just before its process died, before its row was. A
 * checkpoint found on disk only is recorded.
 */
export function latestCheckpointOf(store: Store, runId: number): { step: number; path: string } | null {
  const record = store.runs.getRecord(runId)
  if (!record?.outDir) return null
  const dir = join(record.outDir, CHECKPOINTS_DIR)
  const steps = existsSync(dir)
    ? readdirSync(dir)
        .map((name) => /^step-(\d+)$/.exec(name))
        .filter((match) => match !== null)
        .map((match) => Number(match[1]))
        .filter((step) => existsSync(join(dir, `step-${step}`, TRAINER_STATE_FILE)))
    : []
  if (steps.length === 0) return null
  const step = Math.max(...steps)
  const path = join(dir, `step-${step}`)
  recordCheckpoint(store, runId, step, path)
  return { step, path }
}

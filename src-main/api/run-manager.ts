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
 * (written in batches), checkpoints, segments, progress (run-training.ts) and run.* events. Runs
 * other processes train are followed through the store and relayed as events here (run-watch.ts).
 *
 * The status a run ends with follows from how its training job ended (run-outcome.ts).
 *
 * Files. What a training process killed mid-write leaves in a run's folder (a temporary checkpoint
 * or export folder) is removed when a manager starts, for every run, and when a run trains again
 * (run-files.ts).
 *
 * Benchmarks. A run that names benchmark tasks has the checkpoints at its benchmark steps (and the
 * one a stop saves) evaluated as they are recorded (run-benchmarks.ts); a resumed run has those up
 * to where it goes on evaluated again, which reuses what was finished and redoes what an
 * interruption cut short.
 */
import { randomUUID } from 'node:crypto'
import type {
  Device,
  Events,
  RunControl,
  RunLogLine,
  RunStatus,
  RunSummary
} from '../../src-preload/contract'
import { isPipelineConfig, resolvePipelineConfig, type PipelineConfig } from '../engine/train/pipeline'
import { resolveTrainConfig, type TrainConfig } from '../engine/train/train-config'
import type { TrainEvent, TrainResult } from '../engine/train/trainer'
import { jsonLinesReader } from '../jobs/json-lines'
import type { JobRunner } from '../jobs/runner'
import { resolveRecipe } from '../recipes'
import type { Store } from '../store'
import { HEARTBEAT_INTERVAL_MS } from '../store/owner'
import type { RunOwner } from '../store/repos/runs'
import { inTransaction } from '../store/repos/sql'
import type { ApiContext } from './context'
import { ApiError, notFound } from './errors'
import type { EventBus } from './events'
import { benchmarkPlanOf, isBenchmarkStep, RunBenchmarks } from './run-benchmarks'
import { latestCheckpointOf, removeStaleRunFiles } from './run-files'
import { runOutcome } from './run-outcome'
import { TrainingRun, type SegmentKind } from './run-training'
import { deviceTaken, isFinished, orphanedRuns, OtherProcessRuns, RunWaiters } from './run-watch'

/** What a run trains: one configuration, or a pipeline of stages (engine/train/pipeline.ts). */
export type RunTrainConfig = TrainConfig | PipelineConfig

interface QueuedRun {
  runId: number
  device: Device
  config: RunTrainConfig
  segment: SegmentKind
}

/** The device a run trains on (every stage of a pipeline trains on the same one). */
function deviceOf(config: RunTrainConfig): Device {
  return isPipelineConfig(config) ? config.stages[0].device : config.device
}

export class RunManager {
  readonly owner: RunOwner = { id: randomUUID(), pid: process.pid }
  private readonly queue: QueuedRun[] = []
  /** The runs this manager is training right now. */
  private readonly training = new Map<number, TrainingRun>()
  private readonly otherProcessRuns: OtherProcessRuns
  private readonly waiters: RunWaiters
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
    this.otherProcessRuns = new OtherProcessRuns(this.store, this.events, this.owner.id)
    this.waiters = new RunWaiters(this.store)
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
  enqueue(runId: number, config: RunTrainConfig, segment: SegmentKind): void {
    this.queue.push({ runId, device: deviceOf(config), config, segment })
    this.emitStatus(runId)
    this.pump()
  }

  /** Resolves when the run has ended (any finished status), whichever process trains it. */
  waitForRun(runId: number): Promise<RunSummary> {
    return this.waiters.wait(runId)
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
      const busy = deviceTaken(this.store, this.owner.id, queued.runId, queued.device)
      if (!busy) this.store.runs.setStatus(queued.runId, 'running')
      return !busy
    })()
    if (claimed) this.emitStatus(queued.runId)
    return claimed
  }

  private launch(queued: QueuedRun): void {
    const { runId, config, device } = queued
    const job = this.jobs.submit('engine.train', config, {
      isolation: 'process',
      lane: `train:${device}`,
      cancelPolicy: 'cooperative',
      onOutput: this.trainEventSink(runId),
      onLog: (level, message) => this.log(runId, level, message),
      onPauseChange: (paused) => this.onPauseChange(runId, paused)
    })
    const run = new TrainingRun(this.store, {
      runId,
      jobId: job.id,
      device,
      segment: queued.segment,
      benchmarks: benchmarkPlanOf(this.store.runs.getRecord(runId)!.config)
    })
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
    let config: RunTrainConfig
    try {
      const resumeFrom = checkpoint?.path ?? null
      if (isPipelineConfig(record.config)) {
        if (segment === 'continue') {
          throw new Error(
            'it is a pipeline of stages; continuing trains one stage further, so start a new run'
          )
        }
        config = resolvePipelineConfig({ ...record.config, resumeFrom }, resolveRecipe)
      } else {
        const stored = record.config as unknown as TrainConfig
        config = resolveTrainConfig(plan({ ...stored, resumeFrom }), resolveRecipe)
      }
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
    return jsonLinesReader<TrainEvent>((event) => {
      const run = this.training.get(runId)
      if (run) this.onTrainEvent(run, event)
    })
  }

  private onTrainEvent(run: TrainingRun, event: TrainEvent): void {
    const { runId } = run
    if (event.type === 'start') {
      run.started(event)
      this.benchmarkUpTo(run, event.startStep)
    } else if (event.type === 'step') {
      this.events.emit('run.progress', { runId, ...run.stepped(event) })
    } else if (event.type === 'eval') {
      run.evaluated(event)
    } else {
      const checkpoint = run.checkpointed(event)
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

  private onPauseChange(runId: number, paused: boolean): void {
    const run = this.training.get(runId)
    if (!run || run.requested) return
    run.save()
    const step = run.progress?.step ?? 0
    this.setStatus(runId, paused ? 'paused' : 'running')
    this.log(runId, 'info', paused ? `paused after step ${step}` : `resumed after step ${step}`)
  }

  private onJobEnd(run: TrainingRun): void {
    const { runId } = run
    this.training.delete(runId)
    if (this.disposed) return
    run.save()
    const job = this.jobs.get(run.jobId)!
    const result = job.result as TrainResult | undefined
    if (result) this.results.set(runId, result)
    const exit = this.jobs.exitOf(run.jobId)
    const { status, error } = runOutcome({ requested: run.requested, job, result, exit })
    this.log(runId, status === 'failed' ? 'error' : 'info', error ? `${status}: ${error}` : status)
    this.finish(runId, status, error)
    this.pump()
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
      for (const run of this.training.values()) run.saveProgress()
      this.recoverOrphans()
      this.relayOtherProcesses()
      this.waiters.settle()
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
    return orphanedRuns(this.store, this.owner.id)
      .filter((run) => this.interrupt(run.id, run.ownerId, run.error))
      .map((run) => run.id)
  }

  private relayOtherProcesses(): void {
    this.otherProcessRuns.relay((runId) => this.training.has(runId))
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
      this.training.get(runId)?.save()
      const error =
        'the process that trained it closed while it was active: resume it from its last checkpoint'
      this.interrupt(runId, this.owner.id, error)
      this.waiters.resolve(runId, this.store.runs.getSummary(runId))
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

  /** Marks the run interrupted with `error` if `ownerId` still holds it (no other process took it). */
  private interrupt(runId: number, ownerId: string | null, error: string): boolean {
    if (!this.store.runs.interruptIfOwnedBy(runId, ownerId, error)) return false
    this.log(runId, 'warn', `interrupted: ${error}`)
    this.emitStatus(runId)
    return true
  }

  private finish(runId: number, status: RunStatus, error: string | null): void {
    this.setStatus(runId, status, error)
    this.waiters.resolve(runId, this.summary(runId))
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

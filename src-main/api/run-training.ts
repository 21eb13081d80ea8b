/**
 * A run this process trains: what its training job has reported so far, kept in the store as it
 * arrives (metric points in batches, the progress when the manager saves it, a segment when the job
 * starts, a row per checkpoint). What the reports mean for the run's status, benchmarks and
 * listeners is the run manager's business.
 */
import type { Device, MetricPoint, RunProgress, RunSegment } from '../../src-preload/contract'
import type { TrainEvent } from '../engine/train/trainer'
import type { Store } from '../store'
import type { Checkpoint } from '../store/repos/runs'
import type { BenchmarkPlan } from './run-benchmarks'
import { recordCheckpoint } from './run-files'

/** Why a training job was (re)started; recorded as the kind of the segment it opens. */
export type SegmentKind = RunSegment['kind']

type TrainEventOf<Type extends TrainEvent['type']> = Extract<TrainEvent, { type: Type }>

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

/** The training job of a run, and what it asked of it. */
export interface TrainingJob {
  runId: number
  jobId: string
  device: Device
  segment: SegmentKind
  benchmarks: BenchmarkPlan | null
}

export class TrainingRun implements TrainingJob {
  readonly runId: number
  readonly jobId: string
  readonly device: Device
  readonly segment: SegmentKind
  readonly benchmarks: BenchmarkPlan | null
  /** What the user asked for that decides the final status. */
  requested: 'stop' | 'cancel' | null = null
  /** The steps this training job trains to (from its start event). */
  totalSteps: number | null = null
  progress: RunProgress | null = null
  private progressDirty = false
  private readonly metrics: MetricsWriter

  constructor(
    private readonly store: Store,
    job: TrainingJob
  ) {
    this.runId = job.runId
    this.jobId = job.jobId
    this.device = job.device
    this.segment = job.segment
    this.benchmarks = job.benchmarks
    this.metrics = new MetricsWriter(store, job.runId)
  }

  /**
   * The job has started (a pipeline's job: a stage has): the steps it trains to, and the segment of
   * the run it opens. A pipeline's later stages open segments of kind 'start' in the same job.
   */
  started(event: TrainEventOf<'start'>): void {
    const firstOfJob = this.totalSteps === null
    this.totalSteps = event.totalSteps
    const config = this.store.runs.getRecord(this.runId)!.config
    const segments = [...(Array.isArray(config.segments) ? (config.segments as RunSegment[]) : [])]
    segments.push({
      kind: firstOfJob ? this.segment : 'start',
      fromStep: event.startStep,
      totalSteps: event.totalSteps,
      at: new Date().toISOString(),
      ...(event.stage ? { stage: event.stage } : {})
    })
    this.store.runs.setConfig(this.runId, { ...config, segments })
  }

  /** An optimizer step: its metric points (a recipe's under `recipe/`), and the progress it makes. */
  stepped(event: TrainEventOf<'step'>): RunProgress {
    this.metrics.add([
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
    this.progress = {
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
    this.progressDirty = true
    return this.progress
  }

  evaluated(event: TrainEventOf<'eval'>): void {
    this.metrics.add([{ step: event.step, name: 'eval_loss', value: event.loss }])
  }

  /** A checkpoint was saved: the points before it are written, then its row. */
  checkpointed(event: TrainEventOf<'checkpoint'>): Checkpoint {
    this.metrics.flush()
    return recordCheckpoint(this.store, this.runId, event.step, event.dir)
  }

  /** Writes the latest progress, unless it is written already. */
  saveProgress(): void {
    if (!this.progress || !this.progressDirty) return
    this.store.runs.setProgress(this.runId, this.progress)
    this.progressDirty = false
  }

  /** Writes all that is pending: metric points and progress. */
  save(): void {
    this.metrics.flush()
    this.saveProgress()
  }
}

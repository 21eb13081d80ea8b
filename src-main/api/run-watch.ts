/**
 * What a process learns about runs from the store alone, polled on the run manager's tick: which
 * runs' owners are gone, whether a device is taken, the changes of runs other processes train
 * (relayed as run.status / run.progress events), and the end of a run someone waits for, whichever
 * process trains it.
 */
import type { Device, RunStatus, RunSummary } from '../../src-preload/contract'
import type { Store } from '../store'
import { ownerAlive } from '../store/owner'
import { ACTIVE_STATUSES, FINISHED_STATUSES, type ClaimedRun } from '../store/repos/runs'
import { notFound } from './errors'
import type { EventBus } from './events'

export function isFinished(status: RunStatus): boolean {
  return FINISHED_STATUSES.includes(status)
}

/** Whether the process that owns the run still lives (its heartbeat is fresh). */
function ownerLives(run: ClaimedRun): boolean {
  return run.ownerPid !== null && ownerAlive(run.ownerPid, run.heartbeatAt)
}

/** Whether a run other than `runId` is active on `device`, owned by `ownerId` or another live process. */
export function deviceTaken(store: Store, ownerId: string, runId: number, device: Device): boolean {
  return store.runs
    .claimed()
    .some(
      (other) =>
        other.id !== runId &&
        other.device === device &&
        ACTIVE_STATUSES.includes(other.status) &&
        (other.ownerId === ownerId || ownerLives(other))
    )
}

/** The queued or active runs of other owners whose process is gone, with the error that says so. */
export function orphanedRuns(store: Store, ownerId: string): (ClaimedRun & { error: string })[] {
  return store.runs
    .claimed()
    .filter((run) => run.ownerId !== ownerId && !ownerLives(run))
    .map((run) => {
      const who = run.ownerPid === null ? 'no process owns it' : `its process (pid ${run.ownerPid}) is gone`
      return { ...run, error: `${who}; it was ${run.status}: resume it from its last checkpoint` }
    })
}

/** Runs owned by other processes, relayed as events: the last status and step seen of each. */
export class OtherProcessRuns {
  private readonly watched = new Map<number, { status: RunStatus; step: number | null }>()

  constructor(
    private readonly store: Store,
    private readonly events: EventBus,
    private readonly ownerId: string
  ) {}

  /**
   * Emits run.status / run.progress for runs other processes train, as their rows change.
   * `trainsHere`: whether this process trains the run now (it emits that run's events first hand).
   */
  relay(trainsHere: (runId: number) => boolean): void {
    for (const run of this.store.runs.claimed()) {
      if (run.ownerId !== this.ownerId && !this.watched.has(run.id)) {
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
      if (isFinished(run.status) || trainsHere(runId)) this.watched.delete(runId)
    }
  }
}

/** Those waiting for runs to end. */
export class RunWaiters {
  private readonly waiting = new Map<number, ((run: RunSummary) => void)[]>()

  constructor(private readonly store: Store) {}

  /** Resolves when the run has ended (any finished status). */
  wait(runId: number): Promise<RunSummary> {
    const run = this.store.runs.getSummary(runId)
    if (!run) return Promise.reject(notFound('run', runId))
    if (isFinished(run.status)) return Promise.resolve(run)
    return new Promise((resolve) => this.waiting.set(runId, [...(this.waiting.get(runId) ?? []), resolve]))
  }

  /** Settles the waits for runs that have ended, in whichever process. */
  settle(): void {
    for (const runId of this.waiting.keys()) {
      const run = this.store.runs.getSummary(runId)
      if (!run || isFinished(run.status)) this.resolve(runId, run)
    }
  }

  /** Ends the waits for the run: resolved with `run`, or only forgotten when the run is gone. */
  resolve(runId: number, run: RunSummary | null): void {
    const waiting = this.waiting.get(runId)
    this.waiting.delete(runId)
    if (run) for (const resolve of waiting ?? []) resolve(run)
  }
}

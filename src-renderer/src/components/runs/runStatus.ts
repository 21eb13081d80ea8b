import type { RunControl, RunStatus, RunSummary } from '../../../../src-preload/contract'

/** What each status means, for the badge's tooltip. */
export const RUN_STATUS_HINTS: Record<RunStatus, string> = {
  queued: 'Waiting for its device: one run trains at a time per device.',
  running: 'Training.',
  paused: 'Waiting at a step boundary with the model loaded; resume continues at once.',
  stopping: 'Finishing the step in flight and saving a checkpoint.',
  stopped: 'Ended by you with a checkpoint; it can be continued.',
  completed: 'Trained to the planned number of steps.',
  failed: 'Ended by an error.',
  cancelled: 'Ended by you without a checkpoint.',
  interrupted:
    'Its process died, the app quit, or a cause that can pass (a full disk, a lost GPU) ended it; ' +
    'resume it from its last checkpoint.'
}

/** Statuses in which the run holds (or waits for) its device; such runs cannot be deleted. */
const ACTIVE: readonly RunStatus[] = ['queued', 'running', 'paused', 'stopping']

export function isRunActive(status: RunStatus): boolean {
  return ACTIVE.includes(status)
}

export type RunAction = RunControl | 'continue' | 'delete'

/**
 * The actions the backend accepts in each status. While a control request is pending (another
 * process has not carried it out yet) nothing else is offered, so requests do not pile up.
 */
export function availableRunActions(run: Pick<RunSummary, 'status' | 'pendingControl'>): Set<RunAction> {
  if (run.pendingControl !== null) return new Set()
  switch (run.status) {
    case 'queued':
      return new Set(['cancel'])
    case 'running':
      return new Set(['pause', 'stop', 'cancel'])
    case 'paused':
      return new Set(['resume', 'stop', 'cancel'])
    case 'stopping':
      return new Set(['cancel'])
    case 'interrupted':
      return new Set(['resume', 'continue', 'delete'])
    case 'stopped':
    case 'completed':
      return new Set(['continue', 'delete'])
    case 'failed':
    case 'cancelled':
      return new Set(['delete'])
  }
}

/**
 * Queued runs wait in creation order, one line per device; 1 is next. Runs that are not queued are
 * absent from the map.
 */
export function queuePositions(runs: readonly RunSummary[]): Map<number, number> {
  const waiting = runs
    .filter((run) => run.status === 'queued')
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id - b.id)
  const nextByDevice = new Map<string, number>()
  const positions = new Map<number, number>()
  for (const run of waiting) {
    const position = (nextByDevice.get(run.device) ?? 0) + 1
    nextByDevice.set(run.device, position)
    positions.set(run.id, position)
  }
  return positions
}

import type { RunSummary } from '../../../src-preload/contract'
import type { JobState } from '../stores/jobs'

/**
 * The job a training run trains in. It stays "running" while its run is paused, so the status bar
 * counts runs by their own status instead.
 */
export const TRAINING_JOB_KIND = 'engine.train'

function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}

/** What the status bar says is going on: "2 jobs running", "1 run paused"; empty when nothing is. */
export function activityParts(jobs: readonly JobState[], runs: readonly RunSummary[]): string[] {
  const otherJobs = jobs.filter((job) => job.status === 'running' && job.kind !== TRAINING_JOB_KIND)
  const running = otherJobs.length + runs.filter((run) => run.status === 'running').length
  const paused = runs.filter((run) => run.status === 'paused').length
  const parts: string[] = []
  if (running > 0) parts.push(`${counted(running, 'job')} running`)
  if (paused > 0) parts.push(`${counted(paused, 'run')} paused`)
  return parts
}

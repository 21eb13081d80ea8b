/**
 * Learning-rate schedules, computed on the JS side and fed to the step graph as its `lr` input.
 * Each matches its transformers counterpart (the multiplier of the base learning rate that
 * `LambdaLR` applies), with the same step convention: the k-th optimizer update (k = 0, 1, …) uses
 * the multiplier at k, so with warmup the very first update has learning rate 0, as in transformers.
 *
 *   warmup (k < W):   k / max(1, W)
 *   constant:         1                                              get_constant_schedule_with_warmup
 *   linear:           max(0, (T − k) / max(1, T − W))                get_linear_schedule_with_warmup
 *   cosine:           max(0, ½·(1 + cos(π · 2c · (k − W) / max(1, T − W))))   get_cosine_schedule_with_warmup
 *
 * with W warmup steps, T total training steps and c = numCycles (default 0.5: one half-cosine from
 * the base rate down to 0 at step T).
 */

export const LR_SCHEDULER_KINDS = ['constant', 'linear', 'cosine'] as const
export type LrSchedulerKind = (typeof LR_SCHEDULER_KINDS)[number]

export interface LrSchedule {
  kind: LrSchedulerKind
  /** The peak learning rate (transformers' `learning_rate`). */
  baseLr: number
  warmupSteps: number
  /** Total optimizer steps of the run (needed by linear and cosine). */
  totalSteps: number
  /** Cosine only; default 0.5. */
  numCycles?: number
}

/** The learning rate of the optimizer update with 0-based index `step`. */
export function learningRateAt(schedule: LrSchedule, step: number): number {
  checkSchedule(schedule)
  if (!Number.isInteger(step) || step < 0) {
    throw new Error(`learningRateAt: step must be a non-negative integer, got ${step}`)
  }
  return schedule.baseLr * lrMultiplier(schedule, step)
}

function lrMultiplier(schedule: LrSchedule, step: number): number {
  const { warmupSteps, totalSteps } = schedule
  if (step < warmupSteps) return step / Math.max(1, warmupSteps)
  const decaySteps = Math.max(1, totalSteps - warmupSteps)
  switch (schedule.kind) {
    case 'constant':
      return 1
    case 'linear':
      return Math.max(0, (totalSteps - step) / decaySteps)
    case 'cosine': {
      const progress = (step - warmupSteps) / decaySteps
      const cycles = schedule.numCycles ?? 0.5
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * cycles * 2 * progress)))
    }
  }
}

function checkSchedule(schedule: LrSchedule): void {
  const { kind, baseLr, warmupSteps, totalSteps, numCycles } = schedule
  if (!LR_SCHEDULER_KINDS.includes(kind)) {
    throw new Error(`learningRateAt: unknown scheduler "${kind}"; known: ${LR_SCHEDULER_KINDS.join(', ')}`)
  }
  if (!Number.isFinite(baseLr) || baseLr < 0) {
    throw new Error(`learningRateAt: baseLr must be a finite number ≥ 0, got ${baseLr}`)
  }
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) {
    throw new Error(`learningRateAt: warmupSteps must be a non-negative integer, got ${warmupSteps}`)
  }
  if (!Number.isInteger(totalSteps) || totalSteps < 0) {
    throw new Error(`learningRateAt: totalSteps must be a non-negative integer, got ${totalSteps}`)
  }
  if (numCycles !== undefined && !(Number.isFinite(numCycles) && numCycles > 0)) {
    throw new Error(`learningRateAt: numCycles must be a finite number > 0, got ${numCycles}`)
  }
}

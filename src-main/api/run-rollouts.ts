/**
 * runs.rollouts: the rollout browser's reads of a run's rollouts.jsonl (engine/train/rollout-log.ts),
 * line by line, so a long run's file is never loaded whole.
 */
import type { ParsedInput, RunRollouts } from '../../src-preload/contract'
import { readRolloutStep, readRolloutSteps, rolloutsPath } from '../engine/train/rollout-log'
import { ApiError, notFound } from './errors'
import type { RequestContext } from './handlers'

export async function runRollouts(
  ctx: RequestContext,
  input: ParsedInput<'runs.rollouts'>
): Promise<RunRollouts> {
  const run = ctx.store.runs.getRecord(input.id)
  if (!run) throw notFound('run', input.id)
  if (!run.outDir) return { steps: [], step: null, groups: [] }
  const path = rolloutsPath(run.outDir)
  const steps = await readRolloutSteps(path)
  const step = input.step ?? steps.at(-1)
  if (step === undefined) return { steps, step: null, groups: [] }
  const record = await readRolloutStep(path, step)
  if (!record) throw new ApiError('not_found', `runs.rollouts: run ${run.id} has no rollouts at step ${step}`)
  return { steps, step, groups: record.groups }
}

/**
 * runs.rollouts: the rollout browser's reads of a run's rollouts.jsonl (engine/train/rollout-log.ts),
 * line by line, so a long run's file is never loaded whole. A pipeline's stages each log their own
 * steps in their own folder; the browser sees them on the run's timeline (pipeline.ts).
 */
import type { ParsedInput, RunRollouts } from '../../src-preload/contract'
import { isPipelineConfig, stageFolders } from '../engine/train/pipeline'
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
  const folders = isPipelineConfig(run.config) ? stageFolders(run.config) : [{ dir: run.outDir, offset: 0 }]
  const logs = await Promise.all(
    folders.map(async ({ dir, offset }) => ({
      path: rolloutsPath(dir),
      offset,
      steps: (await readRolloutSteps(rolloutsPath(dir))).map((step) => step + offset)
    }))
  )
  const steps = logs.flatMap((log) => log.steps)
  const step = input.step ?? steps.at(-1)
  if (step === undefined) return { steps, step: null, groups: [] }
  const log = logs.find((candidate) => candidate.steps.includes(step))
  const record = log && (await readRolloutStep(log.path, step - log.offset))
  if (!record) throw new ApiError('not_found', `runs.rollouts: run ${run.id} has no rollouts at step ${step}`)
  return { steps, step, groups: record.groups }
}

import { rmSync } from 'node:fs'
import { relative, isAbsolute } from 'node:path'
import type { ParsedInput, RunSummary } from '../../src-preload/contract'
import type { TrainConfig } from '../engine/train/train-config'
import { ApiError, notFound } from './errors'
import type { Handlers, RequestContext } from './handlers'
import { compareRuns } from './run-compare'
import { startRun } from './run-launcher'
import { preflightRun } from './run-preflight'
import { runRollouts } from './run-rollouts'

type RunHandlers =
  | 'runs.list'
  | 'runs.start'
  | 'runs.preflight'
  | 'runs.get'
  | 'runs.metrics'
  | 'runs.log'
  | 'runs.pause'
  | 'runs.resume'
  | 'runs.stop'
  | 'runs.cancel'
  | 'runs.continue'
  | 'runs.delete'
  | 'runs.checkpoints'
  | 'runs.compare'
  | 'runs.rollouts'

const CONTINUABLE = ['completed', 'stopped', 'interrupted'] as const

function requireRun(ctx: RequestContext, id: number) {
  const run = ctx.store.runs.getRecord(id)
  if (!run) throw notFound('run', id)
  return run
}

/**
 * A finished run trained further from its last checkpoint: the new total is the current one plus
 * the steps (or epochs) added, and the schedule is re-planned over it (TrainConfig.replanSchedule).
 */
function continueRun(ctx: RequestContext, input: ParsedInput<'runs.continue'>): RunSummary {
  ctx.runs.recoverOrphans()
  const run = requireRun(ctx, input.id)
  if (!(CONTINUABLE as readonly string[]).includes(run.status)) {
    throw new ApiError(
      'conflict',
      `runs.continue: run ${run.id} is ${run.status}; only a ${CONTINUABLE.join(', ')} run can be continued`
    )
  }
  const planned = run.segments.at(-1)?.totalSteps ?? run.progress?.totalSteps ?? null
  return ctx.runs.requeue(run.id, 'continue', (config: TrainConfig): TrainConfig => {
    if (input.addEpochs !== undefined) {
      if (config.epochs === null) {
        throw new Error(`it was planned in steps (${config.maxSteps}); continue it with addSteps`)
      }
      return { ...config, epochs: config.epochs + input.addEpochs, replanSchedule: true }
    }
    const total = planned ?? config.maxSteps
    if (total === null) throw new Error('its total number of steps is unknown; continue it with addEpochs')
    return { ...config, maxSteps: total + input.addSteps!, epochs: null, replanSchedule: true }
  })
}

/** Deletes the run's folder when it lies inside the store (a CLI run's --out folder is the user's). */
function deleteRunFiles(storeDir: string, outDir: string | null): void {
  if (!outDir) return
  const inside = relative(storeDir, outDir)
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) return
  rmSync(outDir, { recursive: true, force: true })
}

export const runHandlers: Pick<Handlers, RunHandlers> = {
  'runs.start': (input, ctx) => startRun(ctx, input),
  'runs.preflight': (input, ctx) => preflightRun(ctx, input),
  'runs.list': (input, ctx) => {
    ctx.runs.recoverOrphans()
    return ctx.store.runs.list(input)
  },
  'runs.get': (input, ctx) => {
    ctx.runs.recoverOrphans()
    const run = ctx.store.runs.get(input.id)
    if (!run) throw notFound('run', input.id)
    return run
  },
  'runs.metrics': (input, ctx) => {
    if (!ctx.store.runs.getSummary(input.id)) throw notFound('run', input.id)
    return ctx.store.runs.metrics(input.id, { name: input.name, afterStep: input.afterStep })
  },
  'runs.log': (input, ctx) => {
    if (!ctx.store.runs.getSummary(input.id)) throw notFound('run', input.id)
    return ctx.store.runs.logs(input.id, input.afterId, input.limit)
  },
  'runs.pause': (input, ctx) => ctx.runs.pause(input.id),
  'runs.resume': (input, ctx) => ctx.runs.resume(input.id),
  'runs.stop': (input, ctx) => ctx.runs.stop(input.id),
  'runs.cancel': (input, ctx) => ctx.runs.cancel(input.id),
  'runs.continue': (input, ctx) => continueRun(ctx, input),
  'runs.delete': (input, ctx) => {
    ctx.runs.recoverOrphans()
    const run = ctx.store.runs.getRecord(input.id)
    if (!run) return { deleted: false }
    const deleted = ctx.store.runs.delete(run.id)
    if (deleted) deleteRunFiles(ctx.store.dir, run.outDir)
    return { deleted }
  },
  'runs.checkpoints': (input, ctx) => ctx.store.runs.runCheckpoints(input),
  'runs.compare': (input, ctx) => compareRuns(ctx.store, input.ids, input.metrics),
  'runs.rollouts': (input, ctx) => runRollouts(ctx, input)
}

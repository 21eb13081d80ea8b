/**
 * Which weights a call means, as the folders the engine loads: a registered base model, the result
 * a completed run exported, or one of a run's training checkpoints. Evaluations and generation
 * resolve their targets here, so they mean the same weights by the same ids.
 */
import { existsSync } from 'node:fs'
import { ApiError } from './errors'
import type { RequestContext } from './handlers'

export interface WeightsTarget {
  label: string
  modelDir: string
  adapterDir: string | null
  /** A training checkpoint the job exports before loading it over modelDir (see checkpoint-weights.ts). */
  checkpointDir: string | null
  baseModelId: number | null
  runId: number | null
}

function missing(operation: string, what: string, id: number): ApiError {
  return new ApiError('not_found', `${operation}: ${what} ${id} does not exist`)
}

export function baseModelTarget(ctx: RequestContext, operation: string, baseModelId: number): WeightsTarget {
  const model = ctx.store.models.get(baseModelId)
  if (!model) throw missing(operation, 'base model', baseModelId)
  return {
    label: model.name,
    modelDir: model.path,
    adapterDir: null,
    checkpointDir: null,
    baseModelId: model.id,
    runId: null
  }
}

/** What a completed run exported: a LoRA adapter over its base model, or a whole model folder. */
export function runResultTarget(ctx: RequestContext, operation: string, runId: number): WeightsTarget {
  const run = ctx.store.runs.getRecord(runId)
  if (!run) throw missing(operation, 'run', runId)
  if (run.status !== 'completed' || !run.outDir) {
    throw new ApiError(
      'conflict',
      `${operation}: run ${run.id} is ${run.status}; only a completed run has exported weights`
    )
  }
  const model = ctx.store.models.get(run.baseModelId)!
  const adapter = (run.config.adapter as { kind?: string } | undefined)?.kind
  const target = { label: run.name, checkpointDir: null, baseModelId: null, runId: run.id }
  return adapter === 'full'
    ? { ...target, modelDir: run.outDir, adapterDir: null }
    : { ...target, modelDir: model.path, adapterDir: run.outDir }
}

/** A checkpoint a run saved while training (any status: a running run's checkpoints are complete folders). */
export function checkpointTarget(
  ctx: RequestContext,
  operation: string,
  checkpointId: number
): WeightsTarget {
  const checkpoint = ctx.store.runs.checkpoint(checkpointId)
  if (!checkpoint) throw missing(operation, 'checkpoint', checkpointId)
  const run = ctx.store.runs.getRecord(checkpoint.runId)!
  const label = `${run.name} @ step ${checkpoint.step}`
  if (!existsSync(checkpoint.path)) {
    throw new ApiError(
      'not_found',
      `${operation}: checkpoint ${checkpointId} (${label}): its folder ${checkpoint.path} is gone`
    )
  }
  return {
    label,
    modelDir: ctx.store.models.get(run.baseModelId)!.path,
    adapterDir: null,
    checkpointDir: checkpoint.path,
    baseModelId: null,
    runId: run.id
  }
}

/** The weights a call names by one of baseModelId and checkpointId (its schema requires exactly one). */
export function baseModelOrCheckpointTarget(
  ctx: RequestContext,
  operation: string,
  ids: { baseModelId?: number; checkpointId?: number }
): WeightsTarget {
  return ids.baseModelId !== undefined
    ? baseModelTarget(ctx, operation, ids.baseModelId)
    : checkpointTarget(ctx, operation, ids.checkpointId!)
}

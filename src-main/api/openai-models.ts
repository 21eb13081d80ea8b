/**
 * The names the OpenAI-compatible endpoint gives the weights it can generate with, and the weights
 * each name means. A name must keep meaning the same weights while the store grows, so none is a
 * position in a list:
 * - a registered base model: its name (`stories260K`), or `model-<id>` when another model has the
 *   same name; `model-<id>` is accepted for every base model;
 * - a training checkpoint: `run-<runId>-step-<step>`;
 * - what a completed run exported (adapter or whole model): `run-<runId>`.
 */
import type { RunCheckpoints, RunSummary } from '../../src-preload/contract'
import type { RequestContext } from './handlers'
import { baseModelTarget, checkpointTarget, runResultTarget, type WeightsTarget } from './weights-target'

const OPERATION = 'openai'

/** One entry of `GET /v1/models`, as OpenAI's clients read it. */
export interface OpenAiModel {
  id: string
  object: 'model'
  /** Unix seconds. */
  created: number
  owned_by: string
}

const CHECKPOINT_NAME = /^run-(\d+)-step-(\d+)$/
const RUN_NAME = /^run-(\d+)$/
const MODEL_ID_NAME = /^model-(\d+)$/

export const checkpointModelName = (runId: number, step: number): string => `run-${runId}-step-${step}`
export const runModelName = (runId: number): string => `run-${runId}`

function unixSeconds(iso: string): number {
  return Math.floor(Date.parse(iso) / 1000)
}

/** Every page of a paged store listing, in order. */
function allPages<T>(page: (limit: number, offset: number) => T[], limit: number): T[] {
  const rows: T[] = []
  for (let offset = 0; ; offset += limit) {
    const batch = page(limit, offset)
    rows.push(...batch)
    if (batch.length < limit) return rows
  }
}

/** The base models' names: the model's own where no other model shares it, else `model-<id>`. */
function baseModelNames(ctx: RequestContext): { id: number; name: string; createdAt: string }[] {
  const models = ctx.store.models.list()
  const uses = new Map<string, number>()
  for (const model of models) uses.set(model.name, (uses.get(model.name) ?? 0) + 1)
  return models.map((model) => ({
    id: model.id,
    name: uses.get(model.name) === 1 && !isReservedName(model.name) ? model.name : `model-${model.id}`,
    createdAt: model.createdAt
  }))
}

/** A model named like a run or checkpoint would be taken for one; it goes by `model-<id>`. */
function isReservedName(name: string): boolean {
  return CHECKPOINT_NAME.test(name) || RUN_NAME.test(name) || MODEL_ID_NAME.test(name)
}

/** Base models, then every run's checkpoints, then completed runs' results (newest runs first). */
export function listOpenAiModels(ctx: RequestContext): OpenAiModel[] {
  const entry = (id: string, createdAt: string, owner: string): OpenAiModel => ({
    id,
    object: 'model',
    created: unixSeconds(createdAt),
    owned_by: owner
  })
  const runs: RunCheckpoints[] = allPages(
    (limit, offset) => ctx.store.runs.runCheckpoints({ limit, offset }),
    50
  )
  const completed: RunSummary[] = allPages(
    (limit, offset) => ctx.store.runs.list({ limit, offset }),
    100
  ).filter((run) => run.status === 'completed')
  return [
    ...baseModelNames(ctx).map((model) => entry(model.name, model.createdAt, 'finetune-studio')),
    ...runs.flatMap((run) =>
      run.checkpoints.map((checkpoint) =>
        entry(checkpointModelName(run.runId, checkpoint.step), checkpoint.createdAt, run.runName)
      )
    ),
    ...completed.map((run) => entry(runModelName(run.id), run.createdAt, run.name))
  ]
}

/**
 * The weights a model name means; null when it names nothing. Throws the ApiError of
 * weights-target.ts for a run that has no such weights (yet): its message says why.
 */
export function resolveOpenAiModel(ctx: RequestContext, name: string): WeightsTarget | null {
  const checkpoint = CHECKPOINT_NAME.exec(name)
  if (checkpoint) {
    const [runId, step] = [Number(checkpoint[1]), Number(checkpoint[2])]
    if (!ctx.store.runs.getRecord(runId)) return null
    const found = ctx.store.runs.checkpoints(runId).find((c) => c.step === step)
    return found ? checkpointTarget(ctx, OPERATION, found.id) : null
  }
  const run = RUN_NAME.exec(name)
  if (run)
    return ctx.store.runs.getRecord(Number(run[1])) ? runResultTarget(ctx, OPERATION, Number(run[1])) : null
  const byId = MODEL_ID_NAME.exec(name)
  const model = byId
    ? baseModelNames(ctx).find((m) => m.id === Number(byId[1]))
    : baseModelNames(ctx).find((m) => m.name === name)
  return model ? baseModelTarget(ctx, OPERATION, model.id) : null
}

/**
 * evaluations.start: targets × tasks, each an evaluation row created at once (status queued) and
 * carried out by one "eval.tasks" job, which writes each result to the store as it completes. A
 * target × task × settings already evaluated (same task hash, same settings) is reused instead.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { join, resolve } from 'node:path'
import type {
  EvalAdapterRef,
  EvalSettings,
  EvaluationSummary,
  EvalTargetRef,
  ParsedInput
} from '../../src-preload/contract'
import { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, readLoraConfig } from '../engine/checkpoint/peft'
import type { EvalInspectInput, EvalInspectOutput } from '../jobs/kinds/eval-inspect'
import { jsonLinesReader } from '../jobs/json-lines'
import type { EvalJobEntry, EvalStatusLine, EvalTasksInput } from '../jobs/kinds/eval-tasks'
import { canonicalJson, sha256Hex } from '../shared/canonical-json'
import { graphCacheDir } from '../store/location'
import { ApiError } from './errors'
import type { RequestContext } from './handlers'
import { baseModelTarget, checkpointTarget, type WeightsTarget } from './weights-target'

/** Evaluations run in a lane of their own: they can take long, and must not hold up imports. */
export const EVAL_LANE = 'eval'
/** Reading task files is quick next to evaluating; it must not wait behind an evaluation. */
const INSPECT_LANE = 'eval-inspect'

type TaskInfo = Extract<EvalInspectOutput, { what: 'tasks' }>['tasks'][number]

export interface ResolvedTarget {
  /** `base:<id>`, `checkpoint:<id>` or `adapter:<base id>:<sha256>`: the same weights have the same key. */
  key: string
  weights: WeightsTarget
  checkpointId: number | null
}

/**
 * An adapter folder is known by its content, not its path: retrained into the same folder, it is
 * other weights, and an evaluation of the old ones must not be reused for it.
 */
async function adapterTarget(
  ctx: RequestContext,
  operation: string,
  ref: EvalAdapterRef
): Promise<ResolvedTarget> {
  const base = baseModelTarget(ctx, operation, ref.baseModelId)
  const adapterDir = resolve(ref.adapterDir)
  const hash = createHash('sha256')
  try {
    readLoraConfig(adapterDir)
    // Streamed, so hashing a large adapter does not hold up the thread that serves every request.
    for (const name of [ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME]) {
      for await (const chunk of createReadStream(join(adapterDir, name))) hash.update(chunk as Buffer)
    }
  } catch (error) {
    throw new ApiError(
      'invalid_input',
      `${operation}: ${adapterDir} is not a PEFT LoRA adapter folder: ${(error as Error).message}`
    )
  }
  return {
    key: `adapter:${ref.baseModelId}:${hash.digest('hex')}`,
    weights: { ...base, label: `${base.label} + ${adapterDir}`, adapterDir, baseModelId: null },
    checkpointId: null
  }
}

/** A stored model or checkpoint as the weights to load, keyed so that the same weights have one key. */
export function resolveEvalTarget(
  ctx: RequestContext,
  operation: string,
  ref: EvalTargetRef
): ResolvedTarget {
  if ('baseModelId' in ref) {
    return {
      key: `base:${ref.baseModelId}`,
      weights: baseModelTarget(ctx, operation, ref.baseModelId),
      checkpointId: null
    }
  }
  return {
    key: `checkpoint:${ref.checkpointId}`,
    weights: checkpointTarget(ctx, operation, ref.checkpointId),
    checkpointId: ref.checkpointId
  }
}

/** Runs an eval.inspect job and returns its answer; a bad task file is the caller's mistake. */
export async function inspectTasks<W extends EvalInspectInput['what']>(
  ctx: RequestContext,
  operation: string,
  input: Extract<EvalInspectInput, { what: W }>
): Promise<Extract<EvalInspectOutput, { what: W }>> {
  const job = ctx.jobs.submit('eval.inspect', input, { lane: INSPECT_LANE })
  const finished = await ctx.jobs.wait(job.id)
  if (finished.status !== 'completed') {
    throw new ApiError(
      'invalid_input',
      `${operation}: ${finished.error ?? `reading the task ${finished.status}`}`
    )
  }
  return finished.result as Extract<EvalInspectOutput, { what: W }>
}

/** What makes two evaluations the same: the weights, the task's content and the settings. */
function reuseKey(target: ResolvedTarget, task: TaskInfo, settings: EvalSettings): string {
  const { device: _device, ...decisive } = settings // CPU and GPU give the same results, to rounding
  return sha256Hex(canonicalJson({ target: target.key, task: task.hash, settings: decisive }))
}

function checkSettings(task: TaskInfo, settings: EvalSettings): void {
  if (settings.selfCorrection && task.outputType !== 'generate_until') {
    throw new ApiError(
      'invalid_input',
      `evaluations.start: self-correction reviews generated answers; task ${task.name} is ${task.outputType}`
    )
  }
}

export interface StartedEvaluations {
  evaluations: EvaluationSummary[]
  reused: number[]
  jobId: string | null
}

/**
 * Creates the evaluations (reusing finished ones unless `rerun`) and submits their job. `runId`
 * labels evaluations made during a run's training.
 */
export async function startEvaluations(
  ctx: RequestContext,
  input: ParsedInput<'evaluations.start'>
): Promise<StartedEvaluations> {
  const operation = 'evaluations.start'
  const targets = await Promise.all(
    input.targets.map((ref) =>
      'adapterDir' in ref ? adapterTarget(ctx, operation, ref) : resolveEvalTarget(ctx, operation, ref)
    )
  )
  const { tasks } = await inspectTasks(ctx, operation, { what: 'tasks', tasks: input.tasks })
  tasks.forEach((task) => checkSettings(task, input.settings))
  const evaluations: EvaluationSummary[] = []
  const reused: number[] = []
  const entries: EvalJobEntry[] = []
  for (const target of targets) {
    for (const task of tasks) {
      const key = reuseKey(target, task, input.settings)
      const previous = input.rerun ? null : ctx.store.evaluations.reusable(key)
      if (previous) {
        evaluations.push(previous)
        reused.push(previous.id)
        continue
      }
      const evaluation = ctx.store.evaluations.create({
        name: `${task.name}: ${target.weights.label}`,
        task: task.name,
        kind: input.settings.selfCorrection ? 'self_correction' : 'task',
        targetKey: target.key,
        targetLabel: target.weights.label,
        runId: target.weights.runId,
        checkpointId: target.checkpointId,
        baseModelId: target.weights.baseModelId,
        taskFile: task.file,
        taskHash: task.hash,
        reuseKey: key,
        settings: input.settings,
        ownerPid: process.pid
      })
      evaluations.push(evaluation)
      entries.push({
        evaluationId: evaluation.id,
        modelDir: target.weights.modelDir,
        adapterDir: target.weights.adapterDir,
        checkpointDir: target.weights.checkpointDir,
        taskFile: task.file
      })
    }
  }
  return {
    evaluations,
    reused,
    jobId: entries.length > 0 ? submitEvaluationJob(ctx, entries, input.settings) : null
  }
}

/** Publishes each evaluation's status line as an evaluation.status event. */
function statusRelay(ctx: RequestContext): (text: string) => void {
  return jsonLinesReader<EvalStatusLine>((line) => ctx.events.emit('evaluation.status', line))
}

function submitEvaluationJob(ctx: RequestContext, entries: EvalJobEntry[], settings: EvalSettings): string {
  const input: EvalTasksInput = {
    storeDir: ctx.store.dir,
    entries,
    settings,
    cacheDir: graphCacheDir(ctx.store.dir)
  }
  const job = ctx.jobs.submit('eval.tasks', input, {
    lane: EVAL_LANE,
    cancelPolicy: 'cooperative',
    onOutput: statusRelay(ctx)
  })
  // A job that dies (killed, out of memory) leaves its unfinished evaluations to be marked here.
  void ctx.jobs.wait(job.id).then((finished) => {
    if (finished.status === 'completed') return
    for (const entry of entries) {
      const evaluation = ctx.store.evaluations.get(entry.evaluationId)
      if (evaluation && (evaluation.status === 'queued' || evaluation.status === 'running')) {
        const error = finished.status === 'cancelled' ? 'cancelled' : (finished.error ?? finished.status)
        const status = finished.status === 'cancelled' ? 'interrupted' : 'failed'
        ctx.store.evaluations.setStatus(entry.evaluationId, status, error)
        ctx.events.emit('evaluation.status', { evaluationId: entry.evaluationId, status, error })
      }
    }
  })
  return job.id
}

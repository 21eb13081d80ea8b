/**
 * A pipeline: one run made of stages (e.g. SFT, then grpo), each with its own recipe, data and
 * schedule, the next stage starting from the previous stage's result, all on one step timeline.
 *
 * Stages. Stage k trains with the trainer (trainer.ts) as any run does, in its own folder
 * (`<out>/stages/<k>`, 1-based), except the last, whose folder is the run's own `<out>`: the run's
 * result (adapter or model, rollouts.jsonl) is where a one-stage run keeps it. Stage k > 1 starts
 * from stage k − 1's export: a LoRA is initialised from the previous adapter (`initAdapterDir`), full
 * fine-tuning loads the previous stage's model folder as its model. Settings that decide what is
 * trained (adapter, LoRA shape, device, sequence length, base precision, recomputation) are shared;
 * recipe, data, learning rate, schedule, batch and length of training are per stage
 * (api/run-pipeline.ts composes them).
 *
 * Timeline. Steps are numbered across the run: stage k's step s is step offset_k + s, where offset_k
 * is the steps of the stages before it. Every trainer event is re-numbered that way and tagged with
 * its stage, so metrics, checkpoints and progress of all stages sit on one axis. A stage's total is
 * known when it starts (its data plan); when it completes, `stage.json` in its folder records it, so
 * a resumed pipeline knows the offsets of the stages before the one it resumes in.
 *
 * Resume. `resumeFrom` is a checkpoint of some stage (found by its folder). Stages before it are
 * complete and are not run again; that stage resumes exactly as a single run does (a checkpoint at
 * its last step only exports again); the stages after it start as they would have. So a pipeline
 * stopped or killed anywhere, at a stage boundary too, resumes to the bits of the uninterrupted one.
 * A stop request ends the stage in flight with a checkpoint and starts no further stage.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { writeTextFileAtomically } from '../checkpoint/atomic-write'
import { CHECKPOINTS_DIR } from './checkpoints'
import type { RecipeResolver } from './loss-hook'
import { train, type TrainerOptions, type TrainEvent, type TrainResult } from './trainer'
import { defaultRecompute, resolveTrainConfig, type TrainConfig, type TrainConfigInput } from './train-config'

/** A run of stages, each resolved as a run of its own (checkTrainConfig) but for where it starts. */
export interface PipelineConfig {
  kind: 'pipeline'
  /** The run's folder: the last stage trains here, earlier stages in `stages/<k>`. */
  outDir: string
  /** Each stage's configuration; outDir as stageDir gives it, starting point set when it runs. */
  stages: TrainConfig[]
  /** A checkpoint of one of the stages to continue from; null starts at stage 1. */
  resumeFrom: string | null
}

export const STAGE_RECORD_FILE = 'stage.json'
/** More stages than this is a mistake, not a plan (and each is a model load). */
export const MAX_STAGES = 8

export function isPipelineConfig(config: unknown): config is PipelineConfig {
  return (config as { kind?: unknown } | null)?.kind === 'pipeline'
}

/**
 * Resolves and checks every stage (errors name the stage); the stages must train the same adapter
 * on the same device, since each starts from the one before.
 */
export function resolvePipelineConfig(
  input: { outDir: string; stages: TrainConfigInput[]; resumeFrom?: string | null },
  resolveRecipe: RecipeResolver
): PipelineConfig {
  if (!Array.isArray(input.stages) || input.stages.length < 1 || input.stages.length > MAX_STAGES) {
    throw new Error(`train: a pipeline has 1 to ${MAX_STAGES} stages, got ${input.stages?.length ?? 0}`)
  }
  const outDir = resolve(input.outDir)
  // A stage resolves without its starting point, so the pipeline's checkpoint decides this default.
  const recompute = defaultRecompute(input.resumeFrom ?? null)
  const stages = input.stages.map((stage, index) => {
    try {
      return resolveTrainConfig(
        {
          ...stage,
          outDir: stageDir(outDir, index, input.stages.length),
          recompute: stage.recompute ?? recompute
        },
        resolveRecipe
      )
    } catch (error) {
      throw new Error(`stage ${index + 1}: ${(error as Error).message}`)
    }
  })
  const first = stages[0]
  stages.forEach((stage, index) => {
    const differs = (what: string, a: unknown, b: unknown) => {
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        throw new Error(
          `train: stage ${index + 1} must train the ${what} of stage 1 (it starts from its result): ` +
            `${JSON.stringify(b)} instead of ${JSON.stringify(a)}`
        )
      }
    }
    differs('adapter', { ...first.adapter, initAdapterDir: null }, { ...stage.adapter, initAdapterDir: null })
    differs('device', first.device, stage.device)
    differs('base precision', first.basePrecision, stage.basePrecision)
    differs('recomputation', first.recompute, stage.recompute)
    differs('base model', first.modelDir, stage.modelDir)
  })
  return { kind: 'pipeline', outDir, stages, resumeFrom: input.resumeFrom ? resolve(input.resumeFrom) : null }
}

/** What a completed stage leaves for the stages and resumes after it. */
interface StageRecord {
  stage: number
  totalSteps: number
}

/** The folder stage `index` (0-based) of `count` trains in. */
export function stageDir(outDir: string, index: number, count: number): string {
  return index === count - 1 ? outDir : join(outDir, 'stages', String(index + 1))
}

/** The first step of each stage on the run's timeline, and the stage a step belongs to. */
export interface StageSpan {
  stage: number
  fromStep: number
  totalSteps: number
}

/** Trains the stages in order; the result is the last stage's, on the run's step timeline. */
export async function trainPipeline(config: PipelineConfig, options: TrainerOptions): Promise<TrainResult> {
  const count = config.stages.length
  const resumeStage = config.resumeFrom ? stageOfCheckpoint(config, config.resumeFrom) : 0
  let offset = completedStepsBefore(config, resumeStage)
  let result: TrainResult | null = null
  for (let index = resumeStage; index < count; index++) {
    // Stopped as a stage completed: its final checkpoint is where a resume starts the next one.
    if (options.signal?.aborted && result)
      return { ...result, status: 'stopped', exported: null, merged: null }
    const stage = startingPoint(config, index, index === resumeStage ? config.resumeFrom : null)
    const timeline = { offset, plannedAfter: plannedStepsAfter(config, index) }
    const stageResult = await train(stage, {
      ...options,
      onEvent: (event) => options.onEvent?.(onTimeline(event, index, timeline))
    })
    result = onTimelineResult(stageResult, offset)
    if (stageResult.status !== 'completed') return result
    if (index < count - 1) recordStage(config, index, stageResult.totalSteps)
    offset += stageResult.totalSteps
  }
  if (!result) throw new Error(`train: the pipeline in ${config.outDir} has no stage left to train`)
  return result
}

/** Stage `index`'s configuration as it trains: its folder, where it starts and what it resumes. */
export function startingPoint(config: PipelineConfig, index: number, resumeFrom: string | null): TrainConfig {
  const stage = { ...config.stages[index], outDir: stageDir(config.outDir, index, config.stages.length) }
  const withResume = { ...stage, resumeFrom }
  if (index === 0) return withResume
  const previous = stageDir(config.outDir, index - 1, config.stages.length)
  if (stage.adapter.kind === 'full') return { ...withResume, modelDir: previous }
  return { ...withResume, adapter: { ...stage.adapter, initAdapterDir: previous } }
}

/** The stage whose folder holds checkpoint `dir`; throws when it is no stage's. */
export function stageOfCheckpoint(config: PipelineConfig, dir: string): number {
  const count = config.stages.length
  const checkpoints = dirname(resolve(dir))
  for (let index = count - 1; index >= 0; index--) {
    if (checkpoints === join(stageDir(config.outDir, index, count), CHECKPOINTS_DIR)) return index
  }
  throw new Error(
    `train: ${dir} is not a checkpoint of this pipeline's stages (under ${config.outDir}: ` +
      `stages/<k>/${CHECKPOINTS_DIR} or ${CHECKPOINTS_DIR})`
  )
}

/** The steps of the stages before `index`, from their records; throws naming a missing one. */
export function completedStepsBefore(config: PipelineConfig, index: number): number {
  let steps = 0
  for (let k = 0; k < index; k++) steps += readStageRecord(config, k).totalSteps
  return steps
}

/** Where each stage sits on the timeline, as far as it is known: completed stages and the one after. */
export function knownStageSpans(config: PipelineConfig): StageSpan[] {
  const spans: StageSpan[] = []
  let fromStep = 0
  for (let index = 0; index < config.stages.length - 1; index++) {
    const file = join(stageDir(config.outDir, index, config.stages.length), STAGE_RECORD_FILE)
    if (!existsSync(file)) break
    const { totalSteps } = readStageRecord(config, index)
    spans.push({ stage: index + 1, fromStep, totalSteps })
    fromStep += totalSteps
  }
  return spans
}

/**
 * The folder and step offset of each stage that may have trained so far: the completed ones and the
 * one after them (whose offset their steps give).
 */
export function stageFolders(config: PipelineConfig): { dir: string; offset: number }[] {
  const spans = knownStageSpans(config)
  const count = config.stages.length
  const next =
    spans.length < count
      ? [{ stage: spans.length + 1, fromStep: spans.reduce((n, s) => n + s.totalSteps, 0) }]
      : []
  return [...spans, ...next].map((span) => ({
    dir: stageDir(config.outDir, span.stage - 1, count),
    offset: span.fromStep
  }))
}

function readStageRecord(config: PipelineConfig, index: number): StageRecord {
  const file = join(stageDir(config.outDir, index, config.stages.length), STAGE_RECORD_FILE)
  let record: StageRecord
  try {
    record = JSON.parse(readFileSync(file, 'utf8')) as StageRecord
  } catch (error) {
    throw new Error(
      `train: stage ${index + 1} of the pipeline in ${config.outDir} has no readable record ${file} ` +
        `(${(error as Error).message}); it did not complete, so a later stage cannot resume`
    )
  }
  if (!Number.isSafeInteger(record.totalSteps) || record.totalSteps < 1) {
    throw new Error(`train: ${file}: totalSteps must be a positive integer, got ${String(record.totalSteps)}`)
  }
  return record
}

function recordStage(config: PipelineConfig, index: number, totalSteps: number): void {
  const dir = stageDir(config.outDir, index, config.stages.length)
  const record: StageRecord = { stage: index + 1, totalSteps }
  writeTextFileAtomically(join(dir, STAGE_RECORD_FILE), JSON.stringify(record) + '\n')
}

/**
 * The steps the stages after `index` plan, as far as known before they start: a stage given in
 * steps counts them; one given in epochs counts 0 until it starts (its data decides its steps).
 */
function plannedStepsAfter(config: PipelineConfig, index: number): number {
  return config.stages.slice(index + 1).reduce((sum, stage) => sum + (stage.maxSteps ?? 0), 0)
}

/**
 * A stage's event on the run's timeline: its steps moved by the stages before it. A start is tagged
 * with its stage and ends at the stage's last step; a step's total is the whole run's as far as it
 * is planned (the progress a user sees).
 */
function onTimeline(
  event: TrainEvent,
  index: number,
  { offset, plannedAfter }: { offset: number; plannedAfter: number }
): TrainEvent {
  const stage = index + 1
  switch (event.type) {
    case 'start':
      return { ...event, stage, startStep: event.startStep + offset, totalSteps: event.totalSteps + offset }
    case 'step':
      return { ...event, step: event.step + offset, totalSteps: event.totalSteps + offset + plannedAfter }
    case 'eval':
    case 'checkpoint':
      return { ...event, step: event.step + offset }
  }
}

function onTimelineResult(result: TrainResult, offset: number): TrainResult {
  return {
    ...result,
    step: result.step + offset,
    totalSteps: result.totalSteps + offset,
    logHistory: result.logHistory.map((record) => ({ ...record, step: record.step + offset })),
    evalHistory: result.evalHistory.map((record) => ({ ...record, step: record.step + offset }))
  }
}

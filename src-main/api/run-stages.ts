/**
 * A run's stages as runs.start and runs.preflight see them: the settings of each (the run's settings
 * are stage 1; a later stage's own settings over them) and the data each trains on, written out as
 * the trainer's input before anything trains — a mixture of dataset versions by ratio, and for a
 * later stage the data-overlap control against the prompts the stages before it trained on
 * (datasets/mixture.ts). A run without `stages` is one stage, and without a mixture its data file
 * is the version's train split as it always was.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { ParsedInput, VersionSampleRow } from '../../src-preload/contract'
import { writeTextFileAtomically } from '../engine/checkpoint/atomic-write'
import { composeStageRows, promptKey, type PromptRow } from '../datasets/mixture'
import type { Store } from '../store'
import { ApiError, notFound } from './errors'

export type RunSettings = ParsedInput<'runs.start'>
type StageInput = NonNullable<RunSettings['stages']>[number]

/** What a stage's data came to: rows, from which sources, and its overlap with the stages before. */
export interface StageDataReport {
  rows: number
  /** Per source of a mixture: the version and the rows taken from it. */
  mixture: { datasetVersionId: number; rows: number }[] | null
  /** Rows whose prompt an earlier stage trained on / did not (null for stage 1); `share` as asked, or null. */
  overlap: { share: number | null; seen: number; unseen: number } | null
}

export interface StageData {
  trainFile: string
  evalFile: string | null
  /** The store sample of each line of trainFile (null past the store). */
  trainSampleIds: (number | null)[]
  validationCount: number
  report: StageDataReport
}

/** Each stage's complete settings: stage 1 is the run's, a later stage's own settings over the run's. */
export function stageSettings(input: RunSettings): RunSettings[] {
  const first: RunSettings = { ...input, stages: undefined }
  return [first, ...(input.stages ?? []).map((stage) => laterStage(input, stage))]
}

function laterStage(run: RunSettings, stage: StageInput): RunSettings {
  const length =
    stage.maxSteps === undefined && stage.epochs === undefined
      ? { maxSteps: run.maxSteps, epochs: run.epochs }
      : { maxSteps: stage.maxSteps, epochs: stage.epochs }
  return {
    ...run,
    stages: undefined,
    recipe: stage.recipe,
    recipeParams: stage.recipeParams,
    datasetVersionId: stage.datasetVersionId,
    mixture: stage.mixture,
    lr: stage.lr ?? run.lr,
    lrScheduler: stage.lrScheduler ?? run.lrScheduler,
    warmupSteps: stage.warmupSteps ?? run.warmupSteps,
    batchSize: stage.batchSize ?? run.batchSize,
    gradAccum: stage.gradAccum ?? run.gradAccum,
    ...length
  }
}

/**
 * Writes each stage's training data under `dir` (`dir` itself for a single stage, `dir/stage-<k>`
 * otherwise); errors name the stage and say what its data holds.
 */
export function writeStagesData(
  store: Store,
  input: RunSettings,
  dir: string,
  operation: string
): StageData[] {
  const stages = stageSettings(input)
  const seenPrompts = new Set<string>()
  return stages.map((stage, index) => {
    const where = stages.length > 1 ? `${operation}: stage ${index + 1}` : operation
    return writeStageData(store, stage, {
      dir: stages.length > 1 ? join(dir, `stage-${index + 1}`) : dir,
      operation: where,
      seenPrompts,
      later: index > 0,
      overlap: index === 0 ? undefined : input.stages![index - 1].overlap
    })
  })
}

interface StageDataOptions {
  dir: string
  operation: string
  /** The prompts of the stages before; this stage's prompts are added. */
  seenPrompts: Set<string>
  /** A stage after the first: its overlap with the stages before is controlled or measured. */
  later: boolean
  overlap: number | undefined
}

function writeStageData(store: Store, stage: RunSettings, options: StageDataOptions): StageData {
  const { dir, operation, seenPrompts } = options
  const mixture = stage.mixture
  if (mixture && mixture.sources[0].datasetVersionId !== stage.datasetVersionId) {
    throw new ApiError(
      'invalid_input',
      `${operation}: a mixture's first source must be the dataset version it trains (${stage.datasetVersionId}), ` +
        `got ${mixture.sources[0].datasetVersionId}`
    )
  }
  const sources = mixture?.sources ?? [{ datasetVersionId: stage.datasetVersionId, ratio: 1 }]
  const trainOf = (versionId: number) => {
    if (!store.datasets.getVersion(versionId)) throw notFound('dataset version', versionId)
    const rows = store.datasets.versionSamples(versionId, { split: 'train' })
    if (rows.length === 0) {
      throw new ApiError('invalid_input', `${operation}: dataset version ${versionId} has no train samples`)
    }
    return rows
  }
  try {
    const asked = (row: VersionSampleRow) => promptKey(row.conversation as PromptRow)
    const composed = composeStageRows<VersionSampleRow>(
      mixture
        ? {
            sources: sources.map((source) => ({
              label: `dataset version ${source.datasetVersionId}`,
              rows: trainOf(source.datasetVersionId),
              ratio: source.ratio
            })),
            size: mixture.rows
          }
        : { rows: trainOf(stage.datasetVersionId) },
      options.later ? { keyOf: asked, seenPrompts, overlap: options.overlap } : null,
      stage.seed
    )
    const { rows, taken, overlap } = composed
    for (const row of rows) seenPrompts.add(asked(row))
    const mixed =
      taken && sources.map((source, i) => ({ datasetVersionId: source.datasetVersionId, rows: taken[i] }))
    return writeRows(store, stage.datasetVersionId, rows, dir, { rows: rows.length, mixture: mixed, overlap })
  } catch (error) {
    if (error instanceof ApiError) throw error
    throw new ApiError('invalid_input', `${operation}: ${(error as Error).message}`)
  }
}

/** The rows as the trainer's JSONL, and the version's validation split beside them. */
function writeRows(
  store: Store,
  versionId: number,
  rows: VersionSampleRow[],
  dir: string,
  report: StageDataReport
): StageData {
  mkdirSync(dir, { recursive: true })
  const trainFile = join(dir, 'train.jsonl')
  writeTextFileAtomically(trainFile, rows.map((s) => JSON.stringify(s.conversation)).join('\n') + '\n')
  const trainSampleIds = rows.map((s) => s.sampleId)
  const validation = store.datasets.versionSamples(versionId, { split: 'validation' })
  if (validation.length === 0)
    return { trainFile, evalFile: null, trainSampleIds, validationCount: 0, report }
  const evalFile = join(dir, 'validation.jsonl')
  writeTextFileAtomically(evalFile, validation.map((s) => JSON.stringify(s.conversation)).join('\n') + '\n')
  return { trainFile, evalFile, trainSampleIds, validationCount: validation.length, report }
}

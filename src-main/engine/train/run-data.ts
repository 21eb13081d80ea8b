/**
 * A run's training data as the recipe trains it, and the batching and step count that follow from
 * it. The trainer and the pre-flight job (jobs/kinds/train-preflight.ts) both plan through here, so
 * the plan a user is shown before a run is the one the run follows (grouped recipes such as dpo
 * batch whole pairs; data transforms change each epoch's examples; a selection recipe such as grape
 * scores its candidates with the base model, selection.ts, before anything is planned).
 */
import type { ModelConfig } from '../checkpoint/hf-config'
import type { TextTokenizer } from '../tokenizer/tokenizer'
import type { BatchOptions } from './batches'
import { readTrainingData, type TrainingData } from './data'
import { EpochBatchStream, readEpochData, type EpochData } from './epoch-data'
import type { ResolvedRecipe } from './loss-hook'
import { recipeGroupSize, withRecipeRows } from './recipe-rows'
import { isAnswering, withOwnAnswers } from './own-answers'
import type { RecipeState } from './run-hooks'
import { isSelecting, selectWithBaseModel } from './selection'
import { plannedSteps, type TrainConfig } from './train-config'
import { updatesPerBatch } from './update-cycle'

export interface RunData {
  epochData: EpochData
  batchOptions: BatchOptions
  totalSteps: number
  /** The record of a before-training choice that must be the recipe state (own answers); else undefined. */
  recipeState: RecipeState | undefined
}

export async function readRunData(
  config: TrainConfig,
  recipe: ResolvedRecipe,
  tokenizer: TextTokenizer | null,
  model: ModelConfig,
  savedState?: RecipeState
): Promise<RunData> {
  const { epochData: recipeData, recipeState } = await readRecipeData(config, recipe, tokenizer, savedState)
  const epochData = withRecipeRows(recipeData, recipe, config.dataFile)
  const batchOptions: BatchOptions = {
    batchSize: config.batchSize,
    seed: config.seed,
    shuffle: config.shuffle,
    padId: tokenizer?.pad?.id ?? model.padTokenId ?? 0,
    packedLength: config.packing ? config.maxSeqLen : undefined,
    groupSize: recipeGroupSize(recipe)
  }
  // An empty epoch plans no steps; the caller reports it (the trainer refuses to start).
  const totalSteps =
    epochData.epoch(0).examples.length === 0
      ? 0
      : plannedSteps(new EpochBatchStream(epochData, batchOptions), config, updatesPerBatch(recipe))
  return { epochData, batchOptions, totalSteps, recipeState }
}

/**
 * Refuses a run whose data the chat template loses content of, unless it was told to skip those
 * samples (TrainConfig.templateDrops): training on them would teach conversations that are not the
 * samples (a tool call turn as a bare end-of-turn token).
 */
export function checkTemplateDrops(
  data: TrainingData,
  config: Pick<TrainConfig, 'templateDrops' | 'dataFile'>
): void {
  if (config.templateDrops === 'skip') return
  const lost = data.dropped.filter((row) => row.kind === 'template_drops')
  if (lost.length === 0) return
  const listed = lost
    .slice(0, 3)
    .map((row) => `line ${row.line}: ${row.reason}`)
    .join('; ')
  throw new Error(
    `train: the chat template leaves content out of ${lost.length} of ${data.rowCount} samples of ${config.dataFile} ` +
      `(${listed}${lost.length > 3 ? '; …' : ''}); fix those samples or use a template that renders them, ` +
      'or train without them (--template-drops skip)'
  )
}

/**
 * The samples of every epoch: transformed per epoch, or selected or answered once before training
 * (a resumed answering run reuses its saved record), or as read.
 */
async function readRecipeData(
  config: TrainConfig,
  recipe: ResolvedRecipe,
  tokenizer: TextTokenizer | null,
  savedState: RecipeState | undefined
): Promise<{ epochData: EpochData; recipeState: RecipeState | undefined }> {
  const options = { tokenizer, maxSeqLen: config.maxSeqLen }
  const stages = [isSelecting(recipe), isAnswering(recipe), recipe.hook.transform !== undefined]
  if (stages.filter(Boolean).length > 1) {
    throw new Error(
      `recipe ${recipe.hook.name}: declares more than one of a selection, own answers and a data transform; a recipe has one`
    )
  }
  const once = (data: TrainingData): EpochData => ({ rowCount: data.rowCount, epoch: () => data })
  if (isSelecting(recipe)) {
    const selected = await selectWithBaseModel(readTrainingData(config.dataFile, options), recipe, config)
    return { epochData: once(selected), recipeState: undefined }
  }
  if (isAnswering(recipe)) {
    const read = readTrainingData(config.dataFile, options)
    const { data, record } = await withOwnAnswers(read, recipe, tokenizer, config, savedState)
    return { epochData: once(data), recipeState: record }
  }
  return { epochData: readEpochData(config.dataFile, options, recipe, config.seed), recipeState: undefined }
}

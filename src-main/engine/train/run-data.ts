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
import { readTrainingData } from './data'
import { EpochBatchStream, readEpochData, type EpochData } from './epoch-data'
import type { ResolvedRecipe } from './loss-hook'
import { recipeGroupSize, withRecipeRows } from './recipe-rows'
import { isSelecting, selectWithBaseModel } from './selection'
import { plannedSteps, type TrainConfig } from './train-config'

export interface RunData {
  epochData: EpochData
  batchOptions: BatchOptions
  totalSteps: number
}

export async function readRunData(
  config: TrainConfig,
  recipe: ResolvedRecipe,
  tokenizer: TextTokenizer | null,
  model: ModelConfig
): Promise<RunData> {
  const epochData = withRecipeRows(await readRecipeData(config, recipe, tokenizer), recipe)
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
      : plannedSteps(new EpochBatchStream(epochData, batchOptions), config)
  return { epochData, batchOptions, totalSteps }
}

/** The samples of every epoch: transformed per epoch, or selected once before training, or as read. */
async function readRecipeData(
  config: TrainConfig,
  recipe: ResolvedRecipe,
  tokenizer: TextTokenizer | null
): Promise<EpochData> {
  const options = { tokenizer, maxSeqLen: config.maxSeqLen }
  if (!isSelecting(recipe)) return readEpochData(config.dataFile, options, recipe, config.seed)
  if (recipe.hook.transform) {
    throw new Error(
      `recipe ${recipe.hook.name}: declares both a selection and a data transform; a recipe has one`
    )
  }
  const selected = await selectWithBaseModel(readTrainingData(config.dataFile, options), recipe, config)
  return { rowCount: selected.rowCount, epoch: () => selected }
}

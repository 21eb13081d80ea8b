/**
 * A run's training data as the recipe trains it, and the batching and step count that follow from
 * it. The trainer and the pre-flight job (jobs/kinds/train-preflight.ts) both plan through here, so
 * the plan a user is shown before a run is the one the run follows (grouped recipes such as dpo
 * batch whole pairs; data transforms change each epoch's examples).
 */
import type { ModelConfig } from '../checkpoint/hf-config'
import type { TextTokenizer } from '../tokenizer/tokenizer'
import type { BatchOptions } from './batches'
import { EpochBatchStream, readEpochData, type EpochData } from './epoch-data'
import type { ResolvedRecipe } from './loss-hook'
import { recipeGroupSize, withRecipeRows } from './recipe-rows'
import { plannedSteps, type TrainConfig } from './train-config'

export interface RunData {
  epochData: EpochData
  batchOptions: BatchOptions
  totalSteps: number
}

export function readRunData(
  config: TrainConfig,
  recipe: ResolvedRecipe,
  tokenizer: TextTokenizer | null,
  model: ModelConfig
): RunData {
  const epochData = withRecipeRows(
    readEpochData(config.dataFile, { tokenizer, maxSeqLen: config.maxSeqLen }, recipe, config.seed),
    recipe
  )
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

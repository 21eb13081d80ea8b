/**
 * A recipe's real run on stories260K, as the recipe tests set it up: full fine-tuning over
 * `<dir>/train.jsonl`, six steps with a checkpoint every three, so a test can resume from step 3.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { TRAINER_STATE_FILE } from '../../src-main/engine/train/checkpoints'
import { resolveTrainConfig, type TrainConfigInput } from '../../src-main/engine/train/train-config'
import type { TrainEvent } from '../../src-main/engine/train/trainer'
import { resolveRecipe } from '../../src-main/recipes/index'
import { STORIES_260K } from './temp'

export function recipeRunConfig(
  dir: string,
  outDir: string,
  recipe: TrainConfigInput['recipe'],
  settings: Partial<TrainConfigInput> = {}
) {
  return resolveTrainConfig(
    {
      modelDir: STORIES_260K,
      dataFile: join(dir, 'train.jsonl'),
      outDir: join(dir, outDir),
      cacheDir: join(dir, 'cache'),
      adapter: { kind: 'full' },
      recipe,
      lr: 0.05,
      maxSteps: 6,
      saveEvery: 3,
      shuffle: true,
      ...settings
    },
    resolveRecipe
  )
}

export type StepEvent = Extract<TrainEvent, { type: 'step' }>

export const stepEvents = (events: TrainEvent[]): StepEvent[] =>
  events.filter((e): e is StepEvent => e.type === 'step')

/** The recipe state saved in `<dir>/<outDir>/checkpoints/step-<step>`. */
export function savedRecipeState(dir: string, outDir: string, step: number): unknown {
  const file = join(dir, outDir, 'checkpoints', `step-${step}`, TRAINER_STATE_FILE)
  return JSON.parse(readFileSync(file, 'utf8')).recipeState
}

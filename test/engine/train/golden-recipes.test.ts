/**
 * span-weights and glow against PyTorch (reference/make_golden_recipes.py): 5 AdamW steps on one
 * batch, LoRA from the golden adapter and full fine-tuning, on the random-weight Llama (untied) and
 * Qwen2 (tied) models. span-weights trains with per-token data weights (a tool-call span weighs
 * more); glow with a given loss history per row, from which it weighs the rows in the graph.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, it } from 'vitest'
import type { TrainingBatch } from '../../../src-main/engine/train/batches'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { tempDir } from '../../helpers/temp'
import {
  checkGoldenRecipeRun,
  expectClose,
  GOLDEN,
  goldenBatch,
  type GoldenOptimizer,
  type GoldenRecipeRun
} from './golden-batch'

interface SpanWeightsOrGlowRun extends GoldenRecipeRun {
  recipe: 'span-weights' | 'glow'
  params: Record<string, number>
}

interface GoldenRecipes {
  optimizer: GoldenOptimizer
  runs: SpanWeightsOrGlowRun[]
}

interface RecipeInputs {
  loss_weights: number[][]
  previous_loss: number[]
}

/**
 * The golden batch as each recipe takes it: span-weights with the folder's per-token weights, glow
 * with unit weights on the trained tokens and the folder's loss history as its input.
 */
function recipeBatch(folder: string, recipe: SpanWeightsOrGlowRun['recipe']): TrainingBatch {
  const batch = goldenBatch(folder)
  const inputs = JSON.parse(readFileSync(join(GOLDEN, folder, 'inputs.json'), 'utf8')) as RecipeInputs
  if (recipe === 'glow')
    return { ...batch, recipeInputs: { previous_loss: Float32Array.from(inputs.previous_loss) } }
  const lossWeights = Float32Array.from(inputs.loss_weights.flat())
  return { ...batch, lossWeights, lossWeightTotal: lossWeights.reduce((n, w) => n + w, 0) }
}

describe.each(['llama-untied', 'qwen2-tied'])('span-weights and glow on %s against PyTorch', (model) => {
  const cache = tempDir()
  afterAll(() => cache.cleanup())
  const folder = join(GOLDEN, `train-recipes-${model}`)
  const golden = JSON.parse(readFileSync(join(folder, 'expected.json'), 'utf8')) as GoldenRecipes

  for (const run of golden.runs) {
    it(`${run.name}: losses and grad norms within 1e-4, final tensors within 1e-4`, async () => {
      await checkGoldenRecipeRun({
        model,
        folder,
        optimizer: golden.optimizer,
        run,
        recipe: resolveRecipe(run.recipe, run.params),
        batch: recipeBatch(`train-recipes-${model}`, run.recipe),
        cacheDir: cache.dir,
        checkStep(result, k) {
          expectClose(result.loss, run.losses[k], `loss of step ${k}`)
          expectClose(result.gradNorm, run.grad_norms[k], `grad norm of step ${k}`)
        }
      })
    })
  }
})

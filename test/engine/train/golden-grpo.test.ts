/**
 * The grpo recipe against PyTorch (reference/make_golden_grpo.py): 5 AdamW steps on given rollouts
 * (3 groups of 4 completions, one group with equal rewards), LoRA from the golden adapter and full
 * fine-tuning, each loss type, with and without the KL to the base model, on the random-weight
 * Llama (untied) and Qwen2 (tied) models. The batch is made from the folder's rollouts.jsonl by the
 * path `train --rollouts` takes: rollout rows read by data.ts, grouped by the recipe, collated, and
 * the rewards fed by its batchInputs. With gradient accumulation, a step over one micro-batch per
 * group gives the loss, gradient and metrics of the step over the whole batch.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { collateRows, type TrainingBatch } from '../../../src-main/engine/train/batches'
import { parseTrainingData } from '../../../src-main/engine/train/data'
import type { ResolvedRecipe } from '../../../src-main/engine/train/loss-hook'
import { withRecipeRows } from '../../../src-main/engine/train/recipe-rows'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { tempDir } from '../../helpers/temp'
import { createStepProgram } from '../../../src-main/engine/train/compile-step'
import {
  checkGoldenRecipeRun,
  expectClose,
  GOLDEN,
  goldenSpec,
  expectGrpoStep,
  type GoldenOptimizer,
  type GrpoGoldenRun
} from './golden-batch'

/**
 * Batches of the rollout rows of `file` (all of them, or `rowsPerBatch` each), with the recipe's
 * inputs, as the trainer makes them.
 */
function rolloutBatches(file: string, recipe: ResolvedRecipe, rowsPerBatch = Infinity): TrainingBatch[] {
  const data = parseTrainingData(readFileSync(file, 'utf8'), file, { tokenizer: null, maxSeqLen: 64 })
  const { examples } = withRecipeRows({ rowCount: data.rowCount, epoch: () => data }, recipe, file).epoch(0)
  const batches: TrainingBatch[] = []
  for (let start = 0; start < examples.length; start += rowsPerBatch) {
    const rows = examples.slice(start, start + rowsPerBatch)
    const batch = collateRows(
      rows.map((_, i) => [start + i]),
      examples,
      { padId: 0 }
    )
    batch.recipeInputs = recipe.hook.batchInputs!(
      null,
      {
        epoch: 0,
        columns: batch.columns,
        update: { index: 1, firstTokenLogProbs: null },
        rowLines: rows.map((example) => [example.line]),
        rowExamples: rows.map((example) => [example])
      },
      recipe.params
    )
    batches.push(batch)
  }
  return batches
}

describe.each(['llama-untied', 'qwen2-tied'])('grpo on %s against PyTorch', (model) => {
  const cache = tempDir()
  afterAll(() => cache.cleanup())
  const folder = join(GOLDEN, `train-grpo-${model}`)
  const golden = JSON.parse(readFileSync(join(folder, 'expected.json'), 'utf8')) as {
    optimizer: GoldenOptimizer
    runs: GrpoGoldenRun[]
  }

  it('has a run of every loss type, LoRA and full, one with the KL and one with clip-higher', () => {
    const runs = golden.runs.map(({ method, params }) => `${method} ${params.loss_type}`)
    for (const method of ['lora', 'full'])
      for (const lossType of ['grpo', 'dr_grpo', 'dapo']) expect(runs).toContain(`${method} ${lossType}`)
    expect(golden.runs.some((run) => (run.params.beta as number) > 0)).toBe(true)
    expect(golden.runs.some((run) => (run.params.epsilon_high as number) > 0)).toBe(true)
  })

  for (const run of golden.runs) {
    it(`${run.name}: losses, grad norms and metrics within 1e-4, final tensors within 1e-4`, async () => {
      const recipe = resolveRecipe('grpo', run.params)
      await checkGoldenRecipeRun({
        model,
        folder,
        optimizer: golden.optimizer,
        run,
        recipe,
        batch: rolloutBatches(join(folder, 'rollouts.jsonl'), recipe)[0],
        cacheDir: cache.dir,
        checkStep: (result, k) => expectGrpoStep(result, run, k)
      })
    })
  }
})

describe('grpo with gradient accumulation', () => {
  const cache = tempDir()
  afterAll(() => cache.cleanup())
  const model = 'llama-untied'
  const rollouts = join(GOLDEN, `train-grpo-${model}`, 'rollouts.jsonl')

  it.each(['grpo', 'dr_grpo', 'dapo'])(
    '%s: a step over one micro-batch per group equals the step over all of them in one',
    async (lossType) => {
      const recipe = resolveRecipe('grpo', { group_size: 4, loss_type: lossType, beta: 0.05 })
      const results = []
      for (const batches of [rolloutBatches(rollouts, recipe), rolloutBatches(rollouts, recipe, 4)]) {
        const program = await createStepProgram(
          goldenSpec(model, 'lora', {
            optimizer: { kind: 'sgd', momentum: 0, weightDecay: 0 },
            recipe,
            cacheDir: cache.dir
          })
        )
        try {
          results.push(await program.step(batches, { lr: 0.1, step: 1, maxGradNorm: 0 }))
        } finally {
          await program.release()
        }
      }
      const [whole, accumulated] = results
      expectClose(accumulated.loss, whole.loss, 'loss', 1e-2)
      expectClose(accumulated.gradNorm, whole.gradNorm, 'grad norm', 1e-2)
      for (const [name, value] of Object.entries(whole.metrics))
        expectClose(accumulated.metrics[name], value, name, 1e-2)
    }
  )
})

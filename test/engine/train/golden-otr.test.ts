/**
 * The otr recipe against PyTorch (reference/make_golden_otr.py): 5 AdamW steps on one batch, LoRA
 * from the golden adapter and full fine-tuning, on the random-weight Llama (untied) and Qwen2
 * (tied) models. The sampled tokens are the script's, given as the per-token inputs otr reads
 * instead of sampling in the graph, so the loss is deterministic. Sampling in the graph is checked
 * for reproducibility: its draws depend on the run seed and the step only.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { TrainingBatch } from '../../../src-main/engine/train/batches'
import { createStepProgram } from '../../../src-main/engine/train/compile-step'
import type { ResolvedRecipe } from '../../../src-main/engine/train/loss-hook'
import { resolveRecipe, resolveRecipeParams } from '../../../src-main/recipes/index'
import { otr, sampledTokenInput } from '../../../src-main/recipes/otr'
import { tempDir } from '../../helpers/temp'
import {
  checkGoldenRecipeRun,
  expectClose,
  GOLDEN,
  goldenBatch,
  goldenSpec,
  type GoldenOptimizer,
  type GoldenRecipeRun
} from './golden-batch'

interface GoldenOtrRun extends GoldenRecipeRun {
  params: { samples: number; miss_reward: number }
  hit_rates: number[]
}

interface GoldenOtr {
  optimizer: GoldenOptimizer
  runs: GoldenOtrRun[]
}

/** otr declaring the script's K sampled-token inputs, under its own name (graph caches key on it). */
function otrWithGivenSamples(params: GoldenOtrRun['params']): ResolvedRecipe {
  const inputs = Array.from({ length: params.samples }, (_, k) => ({
    name: sampledTokenInput(k),
    description: `sample ${k} of every position`,
    per: 'token' as const,
    dtype: 'int64' as const
  }))
  return {
    hook: { ...otr, name: 'otr-given-samples', inputs },
    params: resolveRecipeParams('otr', params)
  }
}

function batchWithSamples(folder: string, samples: number): TrainingBatch {
  const inputs = JSON.parse(readFileSync(join(GOLDEN, folder, 'inputs.json'), 'utf8')) as Record<
    string,
    number[][]
  >
  const recipeInputs: Record<string, BigInt64Array> = {}
  for (let k = 0; k < samples; k++) {
    recipeInputs[sampledTokenInput(k)] = BigInt64Array.from(inputs[sampledTokenInput(k)].flat(), BigInt)
  }
  return { ...goldenBatch(folder), recipeInputs }
}

describe.each(['llama-untied', 'qwen2-tied'])('otr with given samples on %s against PyTorch', (model) => {
  const cache = tempDir()
  afterAll(() => cache.cleanup())
  const folder = join(GOLDEN, `train-otr-${model}`)
  const golden = JSON.parse(readFileSync(join(folder, 'expected.json'), 'utf8')) as GoldenOtr

  for (const run of golden.runs) {
    it(`${run.name}: losses, grad norms and hit rates within 1e-4, final tensors within 1e-4`, async () => {
      await checkGoldenRecipeRun({
        model,
        folder,
        optimizer: golden.optimizer,
        run,
        recipe: otrWithGivenSamples(run.params),
        batch: batchWithSamples(`train-otr-${model}`, run.params.samples),
        cacheDir: cache.dir,
        checkStep(result, k) {
          expectClose(result.loss, run.losses[k], `loss of step ${k}`)
          expectClose(result.gradNorm, run.grad_norms[k], `grad norm of step ${k}`)
          expectClose(result.metrics.hit_rate, run.hit_rates[k], `hit rate of step ${k}`)
        }
      })
    })
  }
})

describe('otr sampling in the step graph', () => {
  const cache = tempDir()
  afterAll(() => cache.cleanup())

  async function losses(seed: number): Promise<number[]> {
    const spec = goldenSpec('llama-untied', 'lora', {
      optimizer: { kind: 'adamw', betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 },
      recipe: resolveRecipe('otr'),
      cacheDir: cache.dir
    })
    const program = await createStepProgram({ ...spec, seed })
    try {
      const batch = goldenBatch('llama-untied')
      const result: number[] = []
      for (let step = 1; step <= 3; step++) {
        result.push((await program.step([batch], { lr: 1e-2, step, maxGradNorm: 0 })).loss)
      }
      return result
    } finally {
      await program.release()
    }
  }

  it('draws the same tokens for the same run seed and step, others for another seed', async () => {
    const first = await losses(5)
    expect(first.every(Number.isFinite)).toBe(true)
    expect(await losses(5)).toEqual(first)
    expect(await losses(6)).not.toEqual(first)
  })
})

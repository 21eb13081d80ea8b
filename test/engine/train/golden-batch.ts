/**
 * The right-padded batch of a golden folder (test/fixtures/golden/<folder>/inputs.json) as a
 * TrainingBatch, the check of a golden run's final tensors, and the whole check of a recipe's
 * golden trajectory (reference/make_golden_preference.py, make_golden_recipes.py).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openSafetensors } from '../../../src-main/engine/checkpoint/safetensors'
import type { TrainingBatch } from '../../../src-main/engine/train/batches'
import type { TrainingExample } from '../../../src-main/engine/train/data'
import { Rng } from '../../../src-main/engine/rng'
import { createStepProgram } from '../../../src-main/engine/train/compile-step'
import type { ResolvedRecipe } from '../../../src-main/engine/train/loss-hook'
import { resolveRecipe } from '../../../src-main/recipes/index'
import { tempDir } from '../../helpers/temp'
import type {
  AdapterSpec,
  StepProgram,
  StepProgramSpec,
  StepResult
} from '../../../src-main/engine/train/step-program'

export const GOLDEN = join(import.meta.dirname, '..', '..', 'fixtures', 'golden')

/** Random examples over the golden models' 96-token vocabulary; the first 2 tokens untrained. */
export function randomExamples(lengths: readonly number[], seed: number): TrainingExample[] {
  const rng = Rng.fromSeed(seed)
  return lengths.map((length, index) => {
    const inputIds = Int32Array.from({ length }, () => rng.int(96))
    const labels = Int32Array.from(inputIds, (id, t) => (t < 2 ? -100 : id))
    const weights = Float32Array.from(labels, (label) => (label === -100 ? 0 : 1))
    return { inputIds, labels, weights, line: index + 1 }
  })
}

interface GoldenInputs {
  input_ids: number[][]
  attention_mask: number[][]
  labels: number[][]
}

export function goldenBatch(model: string): TrainingBatch {
  const inputs = JSON.parse(readFileSync(join(GOLDEN, model, 'inputs.json'), 'utf8')) as GoldenInputs
  const rows = inputs.input_ids.length
  const columns = inputs.input_ids[0].length
  const flat = (matrix: number[][]) => BigInt64Array.from(matrix.flat(), BigInt)
  const labels = inputs.labels.flat()
  const lossWeights = Float32Array.from(labels, (label) => (label === -100 ? 0 : 1))
  const positionIds = BigInt64Array.from(
    inputs.attention_mask.flatMap((row) => row.map((m, t) => (m ? t : 0))),
    BigInt
  )
  return {
    rows,
    columns,
    inputIds: flat(inputs.input_ids),
    attentionMask: flat(inputs.attention_mask),
    labels: BigInt64Array.from(labels, BigInt),
    lossWeights,
    positionIds,
    segmentIds: flat(inputs.attention_mask),
    sampleWeights: new Float32Array(rows).fill(1),
    examples: inputs.input_ids.map((_, b) => [b]),
    tokenCount: inputs.attention_mask.flat().reduce((n, m) => n + m, 0),
    lossWeightTotal: lossWeights.reduce((n, w) => n + w, 0)
  }
}

/**
 * The step program spec of a golden run on `model`: full fine-tuning of every weight, or LoRA
 * from the given adapter of train-<model>/adapter (whose r, alpha and targets win over the
 * placeholders here); seed 0, no packing, on the CPU.
 */
export function goldenSpec(
  model: string,
  method: 'full' | 'lora',
  settings: Pick<StepProgramSpec, 'optimizer' | 'recipe' | 'cacheDir'>
): StepProgramSpec {
  const initAdapterDir = join(GOLDEN, `train-${model}`, 'adapter')
  const adapter: AdapterSpec =
    method === 'full'
      ? { kind: 'full', freezeEmbeddings: false }
      : { kind: 'lora', r: 1, alpha: 1, dropout: 0, targets: ['q_proj'], initAdapterDir }
  return { modelDir: join(GOLDEN, model), adapter, device: 'cpu', seed: 0, packed: false, ...settings }
}

/** Every tensor the golden run stored after its last step matches the program's within 1e-4 absolute. */
export function expectFinalTensors(
  folder: string,
  run: { final_tensors_file: string; final_tensors: readonly string[] },
  program: StepProgram
): void {
  const { params } = program.exportState()
  const golden = openSafetensors(join(folder, run.final_tensors_file))
  try {
    for (const name of run.final_tensors) {
      const want = golden.readFloat32(name)
      const got = params.get(name)!.data
      let worst = 0
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]))
      expect(worst, name).toBeLessThan(1e-4)
    }
  } finally {
    golden.close()
  }
}

/** |actual − expected| within 1e-4 of |expected|, or of `floor` for values nearer 0 than it. */
export function expectClose(actual: number, expected: number, what: string, floor = 1): void {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
    1e-4 * Math.max(Math.abs(expected), floor)
  )
}

/** AdamW settings of a golden recipe script. */
export interface GoldenOptimizer {
  lr: number
  betas: [number, number]
  eps: number
  weight_decay: number
}

/** One run of a golden recipe script: its method, steps, per-step figures and final tensors. */
export interface GoldenRecipeRun {
  name: string
  method: 'full' | 'lora'
  steps: number
  losses: number[]
  grad_norms: number[]
  final_tensors_file: string
  final_tensors: string[]
}

/**
 * Trains `run.steps` AdamW steps of `recipe` on `batch` from the golden model (full, or LoRA from
 * the golden adapter) and checks every step with `checkStep`, then the final tensors.
 */
export async function checkGoldenRecipeRun(options: {
  model: string
  folder: string
  optimizer: GoldenOptimizer
  run: GoldenRecipeRun
  recipe: ResolvedRecipe
  batch: TrainingBatch
  cacheDir: string
  checkStep: (result: StepResult, step: number) => void
}): Promise<void> {
  const { optimizer, run } = options
  const { betas, eps, weight_decay: weightDecay } = optimizer
  const spec = goldenSpec(options.model, run.method, {
    optimizer: { kind: 'adamw', betas, eps, weightDecay },
    recipe: options.recipe,
    cacheDir: options.cacheDir
  })
  const program = await createStepProgram(spec)
  try {
    for (let k = 0; k < run.steps; k++) {
      const result = await program.step([options.batch], { lr: optimizer.lr, step: k + 1, maxGradNorm: 0 })
      options.checkStep(result, k)
    }
    expectFinalTensors(options.folder, run, program)
  } finally {
    await program.release()
  }
}

/** The metrics of reference/make_golden_grpo.py's runs (kl/mean only where beta > 0). */
export const GRPO_METRICS = [
  'rewards/mean',
  'rewards/std',
  'advantages/abs_mean',
  'kl/mean',
  'clip/ratio',
  'completions/mean_length',
  'groups/zero_std_share',
  'entropy/mean'
] as const

/** A golden grpo run: its parameters and each metric it reports, per step. */
export type GrpoGoldenRun = GoldenRecipeRun & {
  params: Record<string, number | string | boolean>
} & Partial<Record<(typeof GRPO_METRICS)[number], number[]>>

/**
 * Step k of a golden grpo run: loss, grad norm and every metric within 1e-4, compared absolutely
 * (the grpo loss is 0 wherever the ratios are 1: a group's advantages sum to 0), each metric
 * reported exactly where the run has it.
 */
export function expectGrpoStep(
  step: Pick<StepResult, 'loss' | 'gradNorm' | 'metrics'>,
  run: GrpoGoldenRun,
  k: number
): void {
  expectClose(step.loss, run.losses[k], `loss of step ${k}`, 1)
  expectClose(step.gradNorm, run.grad_norms[k], `grad norm of step ${k}`, 1)
  for (const metric of GRPO_METRICS) {
    const expected = run[metric]
    expect(step.metrics[metric] === undefined, `${metric} reported`).toBe(expected === undefined)
    if (expected) expectClose(step.metrics[metric], expected[k], `${metric} of step ${k}`, 1)
  }
}

/** A golden run of a recipe that reports metrics: its parameters and each metric per step. */
export type GoldenMetricRun = GoldenRecipeRun & {
  params: Record<string, number | string>
  [metric: `${string}/${string}`]: number[]
}

/**
 * The golden runs of `recipe` on both golden models, read from test/fixtures/golden/train-<recipe>-
 * <model>/ and trained on that folder's batch: per step the loss, the grad norm and every metric
 * within 1e-4 (relative above `floor`), then the final tensors. `skip` leaves out a metric at a
 * step where the values it compares tie, so float32 may put them either side.
 */
export function describeGoldenMetricRuns(options: {
  recipe: string
  metrics: readonly `${string}/${string}`[]
  floor: number
  skip: (metric: string, run: GoldenMetricRun, step: number) => boolean
}): void {
  const { recipe, metrics, floor } = options
  describe.each(['llama-untied', 'qwen2-tied'])(`${recipe} on %s against PyTorch`, (model) => {
    const cache = tempDir()
    afterAll(() => cache.cleanup())
    const folder = join(GOLDEN, `train-${recipe}-${model}`)
    const golden = JSON.parse(readFileSync(join(folder, 'expected.json'), 'utf8')) as {
      optimizer: GoldenOptimizer
      runs: GoldenMetricRun[]
    }
    const batch = goldenBatch(`train-${recipe}-${model}`)
    for (const run of golden.runs) {
      it(`${run.name}: losses, grad norms and ${metrics.join(', ')} within 1e-4, final tensors within 1e-4`, async () => {
        await checkGoldenRecipeRun({
          model,
          folder,
          optimizer: golden.optimizer,
          run,
          recipe: resolveRecipe(recipe, run.params),
          batch,
          cacheDir: cache.dir,
          checkStep(result, k) {
            expectClose(result.loss, run.losses[k], `loss of step ${k}`, floor)
            expectClose(result.gradNorm, run.grad_norms[k], `grad norm of step ${k}`, floor)
            for (const metric of metrics) {
              if (options.skip(metric, run, k)) continue
              expectClose(result.metrics[metric], run[metric][k], `${metric} of step ${k}`, floor)
            }
          }
        })
      })
    }
  })
}

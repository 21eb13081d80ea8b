/**
 * The training benchmarks' shared setting (bench/train.ts, bench/scale.ts): LoRA r 16, alpha 32 on
 * all seven projections, AdamW, a batch of random tokens that trains on every next token (as the
 * PyTorch reference's), and timed optimizer steps.
 */
import { median } from './bench-model'
import { collateRows, type TrainingBatch } from '../src-main/engine/train/batches'
import type {
  AdapterSpec,
  StepMemoryOptions,
  StepProgram,
  StepProgramSpec
} from '../src-main/engine/train/step-program'
import { resolveRecipe } from '../src-main/recipes/index'
import { Rng } from '../src-main/engine/rng'

export type LoraSpec = Extract<AdapterSpec, { kind: 'lora' }>

export const LORA: LoraSpec = {
  kind: 'lora',
  r: 16,
  alpha: 32,
  dropout: 0,
  targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']
}
export const ADAMW = { kind: 'adamw', betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 } as const
export const LEARNING_RATE = 1e-4

/** The step program of the benchmarks' LoRA setting on `modelDir`, with the given memory options. */
export function loraStepProgramSpec(
  modelDir: string,
  cacheDir: string,
  memory: StepMemoryOptions
): StepProgramSpec {
  return {
    modelDir,
    adapter: LORA,
    optimizer: ADAMW,
    recipe: resolveRecipe('sft'),
    device: 'cpu',
    cacheDir,
    seed: 4,
    packed: false,
    memory
  }
}

/** `rows` rows of `seq` random token ids below `vocabSize`, every token after the first labelled. */
export function randomTokenBatch(vocabSize: number, rows: number, seq: number): TrainingBatch {
  const rng = Rng.fromSeed(5)
  const examples = Array.from({ length: rows }, (_, b) => {
    const inputIds = Int32Array.from({ length: seq }, () => rng.int(vocabSize))
    const labels = Int32Array.from(inputIds, (id, t) => (t === 0 ? -100 : id)) // every next token, as the reference
    return { inputIds, labels, weights: Float32Array.from(labels, (l) => (l === -100 ? 0 : 1)), line: b + 1 }
  })
  return collateRows(
    examples.map((_, b) => [b]),
    examples
  )
}

export interface TimedSteps {
  /** Seconds of each measured step (the warm-up steps are not timed). */
  seconds: number[]
  secondsMedian: number
  /** Every step's loss, warm-up included. */
  losses: number[]
}

/** `warmup` untimed then `measured` timed optimizer steps on the same batch. */
export async function timeTrainingSteps(
  program: StepProgram,
  batch: TrainingBatch,
  warmup: number,
  measured: number
): Promise<TimedSteps> {
  const losses: number[] = []
  const seconds: number[] = []
  for (let step = 1; step <= warmup + measured; step++) {
    const start = performance.now()
    const result = await program.step([batch], { lr: LEARNING_RATE, step, maxGradNorm: 0 })
    if (step > warmup) seconds.push((performance.now() - start) / 1000)
    losses.push(result.loss)
  }
  return { seconds, secondsMedian: median(seconds), losses }
}

/**
 * CUDA against CPU on stories260K, as the device tests (test/engine/runtime/session.test.ts,
 * test/cli/engine.test.ts) and bench/gpu.ts compare them: per-token log-probs of a few rows, and the
 * losses of a few LoRA steps from the same seed and data.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Scorer, type ScoreRow } from '../../src-main/engine/infer/scoring'
import type { Device } from '../../src-main/engine/runtime/devices'
import type { AdapterSpec } from '../../src-main/engine/train/step-program'
import type { TrainConfigInput } from '../../src-main/engine/train/train-config'
import { train } from '../../src-main/engine/train/trainer'
import { resolveRecipe } from '../../src-main/recipes/index'
import { storiesConfig, trainingStories, writeJsonl } from '../engine/train/invented-stories'
import { STORIES_260K } from './temp'

/**
 * Agreement expected of CUDA: float32 kernels that sum in another order (cuBLAS, cuDNN reductions)
 * differ from the CPU's in the last bits, which a few steps of training must not blow up.
 */
export const PARITY_TOLERANCE = {
  /** Largest difference of one token's log-probability, in nats. */
  logprobNats: 1e-3,
  /** Largest difference of a step's loss, relative to the CPU's. */
  lossRelative: 1e-3
} as const

export const PARITY_STEPS = 5

/** LoRA on every projection, so every kind of product and its gradient is exercised. */
export const PARITY_LORA: Extract<AdapterSpec, { kind: 'lora' }> = {
  kind: 'lora',
  r: 4,
  alpha: 8,
  dropout: 0,
  targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']
}

/** The tokens stories260K itself writes from BOS (a golden file), in three rows of different lengths. */
export function parityScoreRows(): ScoreRow[] {
  const golden = JSON.parse(
    readFileSync(join(import.meta.dirname, '..', 'fixtures', 'golden', 'stories260K-greedy.json'), 'utf8')
  ) as { new_ids: number[] }
  return [8, 20, 40].map((length) => {
    const inputIds = [1, ...golden.new_ids.slice(0, length)]
    return { inputIds, labels: inputIds.map((id, t) => (t === 0 ? -100 : id)) }
  })
}

/** Every scored token's log-probability of parityScoreRows on `device`, rows in order. */
export async function parityTokenLogprobs(device: Device, cacheDir: string): Promise<number[]> {
  const scorer = await Scorer.open({ modelDir: STORIES_260K }, { device, cacheDir })
  try {
    const scores = await scorer.score(parityScoreRows())
    return scores.flatMap((row) => row.tokenLogprobs.filter((value): value is number => value !== null))
  } finally {
    await scorer.release()
  }
}

/**
 * The losses of PARITY_STEPS LoRA steps (seed 7, no shuffling) on `device`, trained by the engine's
 * `train` into `dir`/<out>; `overrides` add settings (e.g. a base precision).
 */
export async function parityLosses(
  device: Device,
  dir: string,
  out: string,
  overrides: Partial<TrainConfigInput> = {}
): Promise<number[]> {
  const data = writeJsonl(join(dir, 'parity-train.jsonl'), trainingStories())
  const config = storiesConfig(dir, data, out, {
    adapter: PARITY_LORA,
    lr: 5e-3,
    maxSteps: PARITY_STEPS,
    shuffle: false,
    seed: 7,
    device,
    ...overrides
  })
  const result = await train(config, { resolveRecipe })
  return result.logHistory.map((record) => record.loss)
}

/** The largest |a[i] − b[i]|; the arrays must be as long. */
export function maxAbsDifference(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`maxAbsDifference: ${a.length} values against ${b.length}`)
  return a.reduce((worst, value, i) => Math.max(worst, Math.abs(value - b[i])), 0)
}

/** The largest |a[i] − b[i]| / |b[i]|: b is the reference. */
export function maxRelativeDifference(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`maxRelativeDifference: ${a.length} values against ${b.length}`)
  return a.reduce((worst, value, i) => Math.max(worst, Math.abs(value - b[i]) / Math.abs(b[i])), 0)
}

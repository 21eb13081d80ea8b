/**
 * The right-padded batch of a golden folder (test/fixtures/golden/<folder>/inputs.json) as a
 * TrainingBatch, and the check of a golden run's final tensors.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'
import { openSafetensors } from '../../../src-main/engine/checkpoint/safetensors'
import type { TrainingBatch } from '../../../src-main/engine/train/batches'
import type { AdapterSpec, StepProgram, StepProgramSpec } from '../../../src-main/engine/train/step-program'

export const GOLDEN = join(import.meta.dirname, '..', '..', 'fixtures', 'golden')

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

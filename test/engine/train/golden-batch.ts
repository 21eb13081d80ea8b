/** The right-padded batch of the golden model cases (test/fixtures/golden/<case>/inputs.json) as a TrainingBatch. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TrainingBatch } from '../../../src-main/engine/train/batches'

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

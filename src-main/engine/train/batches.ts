/**
 * Examples → batches: a seeded, reproducible order per epoch, a cursor that says where the next
 * batch starts (saved in checkpoints for exact resume), and right-padded typed-array batches,
 * optionally with several examples packed into one row.
 *
 * Order. Epoch e visits the examples in a permutation drawn from Rng.fromSeed(seed, e), or in file
 * order without shuffling, so the cursor {epoch, position} alone recreates the rest of the run. A
 * batch never spans two epochs: the last one of an epoch may be smaller. Without packing, batch k
 * of an unshuffled epoch holds examples k·B … k·B + B − 1.
 *
 * Padding. Rows are padded on the right to S = the longest row, optionally rounded up to a multiple
 * (`padToMultipleOf`, e.g. 8): fewer distinct shapes let onnxruntime reuse its memory plan and
 * arena blocks from step to step instead of growing them, and multiples of 8 suit the tensor
 * cores of fp16 matmuls on GPUs; the price is at most multiple − 1 padded columns.
 *
 * Groups. A recipe that trains on groups of rows (DPO's chosen + rejected pair) has its examples
 * listed group after group, `groupSize` consecutive examples each. The epoch's permutation then
 * moves whole groups, a batch holds whole groups only (batchSize is a multiple of groupSize), and
 * packing is refused: it would scatter a group over rows of its own choosing.
 *
 * Packing. Examples are laid end to end in order, a row closing when the next example does not fit
 * in `packedLength`; a batch holds B such rows. Each row carries `positionIds` restarting at 0 at
 * every sample and `segmentIds` numbering its samples 1, 2, … (0 on padding): a model that lets
 * query i attend key j only when segmentIds match and j ≤ i never attends across samples, and
 * padding attends only padding. Labels need no change at the joins: the first token of every
 * example is never a target (data.ts), so no sample is trained to predict the next one's start.
 */
import { IGNORE_INDEX } from '../tokenizer/labels'
import type { TrainingExample } from './data'
import { Rng } from '../rng'

/** Where the next batch starts: `position` indexes the epoch's order. JSON-serialisable. */
export interface DataCursor {
  epoch: number
  position: number
}

export interface BatchOptions {
  /** Rows per batch (B). */
  batchSize: number
  /** The run seed; each epoch's order is drawn from (seed, epoch). */
  seed: number
  /** false: every epoch in file order (`--no-shuffle`). */
  shuffle: boolean
  /** Token id on padding (the tokenizer's pad id, or 0). Padding is masked everywhere. */
  padId?: number
  /** Round S up to a multiple of this; default 1. */
  padToMultipleOf?: number
  /** Pack examples into rows of at most this many tokens; absent = one example per row. */
  packedLength?: number
  /** Examples come in consecutive groups of this many, kept whole (see the module comment); default 1. */
  groupSize?: number
}

/**
 * A batch of B rows by S columns, every array row-major [B, S] except sampleWeights [B]. Integer
 * arrays are int64 (BigInt64Array) so they feed graph inputs directly.
 */
export interface TrainingBatch {
  rows: number
  columns: number
  /** Token ids; padding = padId. */
  inputIds: BigInt64Array
  /** 1 on tokens, 0 on padding. */
  attentionMask: BigInt64Array
  /** Not shifted: labels[t] is the target for token t; −100 on padding and untrained tokens. */
  labels: BigInt64Array
  /** Loss weight per token; 0 wherever labels is −100. */
  lossWeights: Float32Array
  /** Position of each token within its sample (restarts at 0 in packed rows); 0 on padding. */
  positionIds: BigInt64Array
  /** Sample number within the row, 1-based; 0 on padding. Unpacked rows: 1 on every token. */
  segmentIds: BigInt64Array
  /** Per-row loss weight, [B]; all 1 from the data (recipes that weight samples scale it). */
  sampleWeights: Float32Array
  /**
   * Values of the recipe's declared extra inputs (loss-hook.ts), by name: [B, S] per token, [B] per
   * sample, one value per step; set by whatever runs the recipe's JS side before the step.
   */
  recipeInputs?: Record<string, Float32Array | BigInt64Array>
  /** Indices (into the example list) of the examples in each row, in row order. */
  examples: number[][]
  /**
   * The example list `examples` indexes when it is not the epoch's: rollouts generated for this
   * step (online-rollouts.ts).
   */
  ownExamples?: readonly TrainingExample[]
  /** Non-padding tokens. */
  tokenCount: number
  /** Σ sampleWeights[b] · lossWeights[b, t]: the batch's share of the loss normaliser. */
  lossWeightTotal: number
}

/**
 * The order in which epoch `epoch` visits `count` examples: the permutation moves whole groups of
 * `groupSize` consecutive examples (1: single examples).
 */
export function epochOrder(
  count: number,
  epoch: number,
  seed: number,
  shuffle: boolean,
  groupSize = 1
): number[] {
  const groups = Array.from({ length: count / groupSize }, (_, i) => i)
  const order = shuffle ? Rng.fromSeed(seed, epoch).shuffle(groups) : groups
  return groupSize === 1
    ? order
    : order.flatMap((group) => Array.from({ length: groupSize }, (_, i) => group * groupSize + i))
}

/**
 * Hands out batches in order and keeps the cursor. Construct it with a saved cursor to resume:
 * the batches that follow are the ones the uninterrupted run would have produced.
 */
export class BatchStream {
  private readonly examples: readonly TrainingExample[]
  private readonly options: BatchOptions
  private position: DataCursor
  private order: { epoch: number; indices: number[] } | null = null

  constructor(
    examples: readonly TrainingExample[],
    options: BatchOptions,
    cursor: DataCursor = { epoch: 0, position: 0 }
  ) {
    checkOptions(options)
    if (examples.length === 0) throw new Error('BatchStream: no training examples')
    checkGroups(examples.length, options)
    if (options.packedLength !== undefined) {
      const long = examples.findIndex((e) => e.inputIds.length > options.packedLength!)
      if (long >= 0) {
        throw new Error(
          `BatchStream: the example from line ${examples[long].line} has ${examples[long].inputIds.length} ` +
            `tokens, more than packedLength ${options.packedLength}`
        )
      }
    }
    checkCursor(cursor, examples.length, options.groupSize ?? 1)
    this.examples = examples
    this.options = options
    this.position = { ...cursor }
  }

  /** Where the next batch starts (save this in checkpoints). */
  get cursor(): DataCursor {
    return { ...this.position }
  }

  /** The next batch, and the cursor moves past it (into the next epoch at an epoch's end). */
  next(): TrainingBatch {
    const { epoch, position } = this.position
    const order = this.epochIndices(epoch)
    const rows = this.rowsFrom(order, position)
    const consumed = rows.reduce((n, row) => n + row.length, 0)
    const end = position + consumed
    this.position = end >= order.length ? { epoch: epoch + 1, position: 0 } : { epoch, position: end }
    return collateRows(rows, this.examples, this.options)
  }

  /** How many batches epoch `epoch` holds (packing makes it depend on the epoch's order). */
  batchesInEpoch(epoch: number): number {
    if (this.options.packedLength === undefined) {
      return Math.ceil(this.examples.length / this.options.batchSize)
    }
    const order = this.epochIndices(epoch)
    let batches = 0
    for (let position = 0; position < order.length; batches++) {
      position += this.rowsFrom(order, position).reduce((n, row) => n + row.length, 0)
    }
    return batches
  }

  private epochIndices(epoch: number): number[] {
    if (this.order?.epoch !== epoch) {
      this.order = {
        epoch,
        indices: epochOrder(
          this.examples.length,
          epoch,
          this.options.seed,
          this.options.shuffle,
          this.options.groupSize
        )
      }
    }
    return this.order.indices
  }

  /** The example indices of each row of the batch starting at `position`. */
  private rowsFrom(order: readonly number[], position: number): number[][] {
    const { batchSize, packedLength } = this.options
    if (packedLength === undefined) {
      return order.slice(position, position + batchSize).map((index) => [index])
    }
    const rows: number[][] = []
    let row: number[] = []
    let used = 0
    for (let i = position; i < order.length; i++) {
      const length = this.examples[order[i]].inputIds.length
      if (used + length > packedLength) {
        rows.push(row)
        if (rows.length === batchSize) return rows
        row = []
        used = 0
      }
      row.push(order[i])
      used += length
    }
    rows.push(row)
    return rows
  }
}

/** Pads the given rows (example indices per row, laid end to end) into one batch. */
export function collateRows(
  rows: readonly (readonly number[])[],
  examples: readonly TrainingExample[],
  options: Pick<BatchOptions, 'padId' | 'padToMultipleOf'> = {}
): TrainingBatch {
  if (rows.length === 0 || rows.some((row) => row.length === 0)) {
    throw new Error('collateRows: every row needs at least one example')
  }
  const padId = BigInt(options.padId ?? 0)
  const multiple = options.padToMultipleOf ?? 1
  const lengths = rows.map((row) => row.reduce((n, index) => n + examples[index].inputIds.length, 0))
  const columns = Math.ceil(Math.max(...lengths) / multiple) * multiple
  const size = rows.length * columns
  const batch: TrainingBatch = {
    rows: rows.length,
    columns,
    inputIds: new BigInt64Array(size).fill(padId),
    attentionMask: new BigInt64Array(size),
    labels: new BigInt64Array(size).fill(BigInt(IGNORE_INDEX)),
    lossWeights: new Float32Array(size),
    positionIds: new BigInt64Array(size),
    segmentIds: new BigInt64Array(size),
    sampleWeights: new Float32Array(rows.length).fill(1),
    examples: rows.map((row) => [...row]),
    tokenCount: 0,
    lossWeightTotal: 0
  }
  rows.forEach((row, r) => {
    let offset = r * columns
    row.forEach((index, sample) => {
      const { inputIds, labels, weights } = examples[index]
      for (let t = 0; t < inputIds.length; t++, offset++) {
        batch.inputIds[offset] = BigInt(inputIds[t])
        batch.attentionMask[offset] = 1n
        batch.labels[offset] = BigInt(labels[t])
        batch.lossWeights[offset] = weights[t]
        batch.positionIds[offset] = BigInt(t)
        batch.segmentIds[offset] = BigInt(sample + 1)
        batch.lossWeightTotal += weights[t] * batch.sampleWeights[r]
      }
    })
    batch.tokenCount += lengths[r]
  })
  return batch
}

function checkOptions(options: BatchOptions): void {
  const { batchSize, seed, padId, padToMultipleOf, packedLength } = options
  const positiveInteger = (name: string, value: number | undefined) => {
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
      throw new Error(`BatchStream: ${name} must be a positive integer, got ${value}`)
    }
  }
  positiveInteger('batchSize', batchSize)
  positiveInteger('padToMultipleOf', padToMultipleOf)
  positiveInteger('packedLength', packedLength)
  positiveInteger('groupSize', options.groupSize)
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`BatchStream: seed must be a non-negative integer, got ${seed}`)
  }
  if (padId !== undefined && !(Number.isInteger(padId) && padId >= 0)) {
    throw new Error(`BatchStream: padId must be a non-negative integer, got ${padId}`)
  }
}

function checkGroups(count: number, { groupSize = 1, batchSize, packedLength }: BatchOptions): void {
  if (groupSize === 1) return
  if (packedLength !== undefined) {
    throw new Error(`BatchStream: packing would split the groups of ${groupSize} rows the recipe trains on`)
  }
  if (batchSize % groupSize !== 0) {
    throw new Error(
      `BatchStream: batchSize ${batchSize} is not a multiple of the recipe's group size ${groupSize}, ` +
        'so a batch would split a group'
    )
  }
  if (count % groupSize !== 0) {
    throw new Error(`BatchStream: ${count} examples do not make whole groups of ${groupSize}`)
  }
}

function checkCursor(cursor: DataCursor, count: number, groupSize: number): void {
  const { epoch, position } = cursor
  if (
    !Number.isInteger(epoch) ||
    epoch < 0 ||
    !Number.isInteger(position) ||
    position < 0 ||
    position >= count ||
    position % groupSize !== 0
  ) {
    throw new Error(
      `BatchStream: cursor {epoch: ${epoch}, position: ${position}} does not fit ${count} examples` +
        (groupSize > 1 ? ` in groups of ${groupSize}` : '')
    )
  }
}

/**
 * The 'before-step' batch selection of a recipe (run-hooks.ts, `selectBatch`): each micro-batch
 * the stream yields is a batch of candidates; the program scores it forward-only with the current
 * weights, the recipe chooses rows from those statistics and its state, and only the chosen rows
 * train. The run's batch size is therefore the candidate batch, as in online batch selection
 * papers, and the number of optimizer steps is what the data plan says without selection.
 *
 * The choice is a pure function of the weights, the batch and the recipe state, and the state is
 * checkpointed, so a resumed run chooses exactly as the uninterrupted one did.
 */
import type { TrainingBatch } from './batches'
import type { LossHook, RecipeParams, ResolvedRecipe } from './loss-hook'
import type { BatchSelection, RecipeState } from './run-hooks'
import type { StepProgram } from './step-program'

/** A resolved recipe that selects rows before each step. */
export interface BatchSelectingRecipe extends ResolvedRecipe {
  hook: LossHook & { selectBatch: BatchSelection<RecipeParams> }
}

export function isBatchSelecting(recipe: ResolvedRecipe): recipe is BatchSelectingRecipe {
  return recipe.hook.selectBatch !== undefined
}

/** Scores `candidates`, lets the recipe choose, and returns the chosen rows with the new state. */
export async function chooseTrainingRows(
  program: Pick<StepProgram, 'score'>,
  recipe: BatchSelectingRecipe,
  state: RecipeState,
  candidates: TrainingBatch
): Promise<{ batch: TrainingBatch; state: RecipeState }> {
  const statistics = await program.score(candidates)
  const choice = recipe.hook.selectBatch.choose(state, statistics, recipe.params)
  const { rows } = choice
  const valid = (row: number) => Number.isInteger(row) && row >= 0 && row < candidates.rows
  if (rows.length === 0 || !rows.every(valid) || new Set(rows).size !== rows.length) {
    throw new Error(
      `recipe ${recipe.hook.name}: batch selection chose rows ${JSON.stringify(rows)} of ` +
        `${candidates.rows} candidates; it must choose at least one, each once`
    )
  }
  return { batch: batchRows(candidates, rows), state: choice.state }
}

/** The rows `rows` of `batch`, in that order, with its columns; recipe inputs are not carried. */
export function batchRows(batch: TrainingBatch, rows: readonly number[]): TrainingBatch {
  const { columns } = batch
  // Copied as bytes: one copy serves the int64 and the float32 arrays alike.
  const take = <T extends BigInt64Array | Float32Array>(values: T): T => {
    const out = values.slice(0, rows.length * columns) as T
    const rowBytes = columns * values.BYTES_PER_ELEMENT
    const to = new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
    rows.forEach((row, r) =>
      to.set(new Uint8Array(values.buffer, values.byteOffset + row * rowBytes, rowBytes), r * rowBytes)
    )
    return out
  }
  const chosen: TrainingBatch = {
    rows: rows.length,
    columns,
    inputIds: take(batch.inputIds),
    attentionMask: take(batch.attentionMask),
    labels: take(batch.labels),
    lossWeights: take(batch.lossWeights),
    positionIds: take(batch.positionIds),
    segmentIds: take(batch.segmentIds),
    sampleWeights: Float32Array.from(rows, (row) => batch.sampleWeights[row]),
    examples: rows.map((row) => [...batch.examples[row]]),
    tokenCount: 0,
    lossWeightTotal: 0
  }
  // Summed token by token in row order, as collateRows sums them.
  for (let r = 0; r < rows.length; r++) {
    for (let t = r * columns; t < (r + 1) * columns; t++) {
      if (chosen.attentionMask[t] === 0n) continue
      chosen.tokenCount++
      chosen.lossWeightTotal += chosen.lossWeights[t] * chosen.sampleWeights[r]
    }
  }
  return chosen
}

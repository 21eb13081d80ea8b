/**
 * A recipe's part in the training loop (run-hooks.ts): the JSON state it carries across steps and
 * checkpoints, the rows it picks before each step, the extra inputs it feeds each micro-batch, and
 * the state it updates from each step's result. The trainer owns the loop; this owns the recipe's
 * view of it, so a recipe that declares no run hooks costs the loop nothing.
 */
import type { TrainingBatch } from './batches'
import { chooseTrainingRows, isBatchSelecting } from './batch-selection'
import type { EpochBatchStream } from './epoch-data'
import type { ResolvedRecipe } from './loss-hook'
import type { RecipeState } from './run-hooks'
import type { StepProgram, StepResult } from './step-program'

export class RecipeRun {
  private current: RecipeState

  /**
   * `saved` is a resumed checkpoint's state (it wins, even when it is null); `chosen` the state a
   * before-training stage chose for a fresh run (readRunData); otherwise the recipe's initial state.
   */
  constructor(
    private readonly recipe: ResolvedRecipe,
    private readonly stream: EpochBatchStream,
    private readonly program: StepProgram,
    saved: RecipeState | undefined,
    chosen: RecipeState | undefined
  ) {
    const { hook, params } = recipe
    this.current = saved !== undefined ? saved : (chosen ?? hook.initialState?.(params) ?? null)
  }

  /** What a checkpoint saves. */
  get state(): RecipeState {
    return this.current
  }

  /** The rows of `candidates` that train: all, unless the recipe selects before each step. */
  async selectRows(candidates: TrainingBatch): Promise<TrainingBatch> {
    if (!isBatchSelecting(this.recipe)) return candidates
    const chosen = await chooseTrainingRows(this.program, this.recipe, this.current, candidates)
    this.current = chosen.state
    return chosen.batch
  }

  /** Sets each micro-batch's declared recipe inputs from the state, when the recipe feeds any. */
  feedInputs(epoch: number, microBatches: TrainingBatch[]): void {
    const { hook, params } = this.recipe
    if (!hook.batchInputs) return
    for (const batch of microBatches) {
      const examples = this.stream.examplesOf(epoch)
      const rowExamples = batch.examples.map((row) => row.map((i) => examples[i]))
      batch.recipeInputs = hook.batchInputs(
        this.current,
        { epoch, rowLines: this.rowLinesOf(epoch, batch), rowExamples },
        params
      )
    }
  }

  /** Moves the state on by step `step`'s result, when the recipe keeps one. */
  update(step: number, epoch: number, result: StepResult, microBatches: TrainingBatch[]): void {
    const { hook, params } = this.recipe
    if (!hook.updateState) return
    const rowLines = microBatches.map((batch) => this.rowLinesOf(epoch, batch))
    this.current = hook.updateState(this.current, { step, epoch, result, rowLines }, params)
  }

  /** The source-file line of the examples in each row of `batch` (stable across epochs). */
  private rowLinesOf(epoch: number, batch: TrainingBatch): number[][] {
    const examples = this.stream.examplesOf(epoch)
    return batch.examples.map((row) => row.map((i) => examples[i].line))
  }
}

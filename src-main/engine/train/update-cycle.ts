/**
 * Batch reuse (run-hooks.ts `updatesPerBatch`; grpo's μ, TRL's GRPOTrainer `num_iterations`): the
 * micro-batches of one optimizer step — read from the stream, selected, or generated — train for μ
 * consecutive optimizer steps, a cycle. Every one of them is a step of the run: it counts in the
 * step numbers and takes its own learning rate, as TRL counts them.
 *
 * The old policy. TRL's `old_per_token_logps` are the log-probabilities of the weights that first
 * saw the batch, before any of its μ updates. The first update's forward pass runs on exactly
 * those weights, and the step program returns its per-token log-probs anyway
 * (StepResult.tokenLogProbs), so they are kept here rather than computed by a scoring pass of their
 * own: no extra forward, and no second graph whose rounding could differ from the step's. They
 * reach the recipe's `batchInputs` on updates 2…μ (BatchUpdate); on update 1 π_old is π itself.
 * With LoRA dropout they carry the first update's dropout draw, where TRL's no-grad pass draws its
 * own.
 *
 * Checkpoints fall between cycles only. A cycle's pending state is its micro-batches (for generated
 * rollouts, the completions themselves) and the first update's log-probs, per token: neither is
 * plain JSON for the recipe state, and rebuilding them on resume would need the weights from before
 * the cycle. So a scheduled checkpoint waits for the cycle's last update, and a stop finishes the
 * cycle first (at most μ − 1 more steps); a run resumed from any checkpoint then starts a fresh
 * cycle exactly where the uninterrupted run did. Only the run's last step may end a cycle early
 * (--max-steps not a multiple of μ); a run continued from there with more steps starts the next
 * batch, where one planned longer from the start would have finished that cycle.
 */
import type { TrainingBatch } from './batches'
import type { ResolvedRecipe } from './loss-hook'
import type { RolloutReport } from './recipe-run'
import type { BatchUpdate } from './run-hooks'
import type { StepResult } from './step-program'

/** The updates each batch trains for: the recipe's updatesPerBatch, checked; 1 when it has none. */
export function updatesPerBatch({ hook, params }: ResolvedRecipe): number {
  const updates = hook.updatesPerBatch?.(params) ?? 1
  if (!(Number.isSafeInteger(updates) && updates >= 1)) {
    throw new Error(`recipe ${hook.name}: updatesPerBatch must be an integer ≥ 1, got ${updates}`)
  }
  return updates
}

/** The data of one optimizer step, as the cycle's first update took it. */
export interface CycleBatch {
  /** The epoch it came from (0-based). */
  epoch: number
  microBatches: TrainingBatch[]
  /** What generating the micro-batches cost and scored; null when they were read. */
  rollouts: RolloutReport | null
}

interface PendingCycle {
  batch: CycleBatch
  /** Updates done so far (1 … updates − 1). */
  done: number
  /** Per micro-batch, the first update's token log-probs, aligned as the loss's. */
  firstTokenLogProbs: Float32Array[]
}

export class UpdateCycle {
  private pending: PendingCycle | null = null

  constructor(readonly updates: number) {}

  /** Whether the next step starts a new batch: where the run may checkpoint or stop. */
  get atBoundary(): boolean {
    return this.pending === null
  }

  /**
   * The next step's batch (a new one from `take` at a boundary) and, per micro-batch, which of its
   * updates the step is.
   */
  async next(take: () => Promise<CycleBatch>): Promise<{ batch: CycleBatch; updates: BatchUpdate[] }> {
    if (this.pending) {
      const { batch, done, firstTokenLogProbs } = this.pending
      return {
        batch,
        updates: firstTokenLogProbs.map((logProbs) => ({ index: done + 1, firstTokenLogProbs: logProbs }))
      }
    }
    const batch = await take()
    return { batch, updates: batch.microBatches.map(() => ({ index: 1, firstTokenLogProbs: null })) }
  }

  /** Records the step just taken on `batch`: the first update keeps its log-probs, the last ends the cycle. */
  finish(batch: CycleBatch, result: StepResult): void {
    const done = (this.pending?.done ?? 0) + 1
    if (done >= this.updates) {
      this.pending = null
      return
    }
    if (this.pending) {
      this.pending.done = done
      return
    }
    const labelAligned = result.tokenLogProbs
    if (labelAligned?.length !== batch.microBatches.length) {
      throw new Error(
        'train: reusing a batch needs the step program to return the token log-probs of every micro-batch'
      )
    }
    const firstTokenLogProbs = labelAligned.map((values, i) =>
      predictingAligned(values, batch.microBatches[i].columns)
    )
    this.pending = { batch, done, firstTokenLogProbs }
  }
}

/**
 * StepResult's log-probs (entry t = log p(labels[t] | tokens < t)) moved back one column to the
 * loss's alignment (entry t = log p(labels[t + 1] | tokens ≤ t)); the last column predicts nothing: 0.
 */
export function predictingAligned(labelAligned: Float32Array, columns: number): Float32Array {
  const predicting = new Float32Array(labelAligned.length)
  for (let row = 0; row < labelAligned.length; row += columns) {
    predicting.set(labelAligned.subarray(row + 1, row + columns), row)
  }
  return predicting
}

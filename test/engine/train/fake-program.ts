/**
 * A tiny deterministic StepProgram for trainer tests: it "trains" model.norm.weight of stories260K
 * (64 floats) towards targets derived from the batch's labels, with plain SGD in float32, and
 * records every call. The loss is a pure function of the weights and the batch, so a resumed run
 * reproduces the uninterrupted one bit for bit exactly when the trainer feeds the same batches,
 * learning rates and state.
 */
import type { TrainingBatch } from '../../../src-main/engine/train/batches'
import type { RecipeResolver } from '../../../src-main/engine/train/loss-hook'
import type {
  EvalResult,
  StepProgram,
  StepProgramSpec,
  StepResult,
  StepScalarValues,
  TrainableState
} from '../../../src-main/engine/train/step-program'
import { resolveRecipe } from '../../../src-main/recipes/index'

export const FAKE_PARAM = 'model.norm.weight'
export const FAKE_STATE = `${FAKE_PARAM}.last_grad`
const SIZE = 64

export interface FakeCall {
  /** The first example of every row, per micro-batch. */
  microBatches: number[][]
  /** Every row's examples, per micro-batch (packed rows hold several). */
  rows: number[][][]
  scalars: StepScalarValues
}

export interface FakeBehaviour {
  /** Replaces the loss reported at a 1-based step (e.g. NaN). */
  lossAt?: (step: number) => number | undefined
  /** Called on exportState, e.g. to corrupt what a checkpoint receives. */
  exportHook?: (state: TrainableState, stepsDone: number) => TrainableState
}

export class FakeStepProgram implements StepProgram {
  readonly trainableNames = [FAKE_PARAM]
  readonly calls: FakeCall[] = []
  released = false
  private weight = new Float32Array(SIZE).fill(1)
  private lastGrad = new Float32Array(SIZE)

  constructor(
    readonly spec: StepProgramSpec,
    private readonly behaviour: FakeBehaviour = {}
  ) {}

  async step(microBatches: readonly TrainingBatch[], scalars: StepScalarValues): Promise<StepResult> {
    this.calls.push({
      microBatches: microBatches.map((b) => b.examples.map((row) => row[0])),
      rows: microBatches.map((b) => b.examples),
      scalars
    })
    const { loss, grad, tokens } = this.lossAndGradient(microBatches)
    let squares = 0
    for (const g of grad) squares += g * g
    const gradNorm = Math.fround(Math.sqrt(squares))
    for (let i = 0; i < SIZE; i++)
      this.weight[i] = Math.fround(this.weight[i] - Math.fround(scalars.lr) * grad[i])
    this.lastGrad = Float32Array.from(grad)
    const replaced = this.behaviour.lossAt?.(scalars.step)
    return { loss: replaced ?? loss, gradNorm, tokens, metrics: { half_loss: loss / 2 } }
  }

  async evaluate(batch: TrainingBatch): Promise<EvalResult> {
    const { loss, tokens } = this.lossAndGradient([batch])
    return { loss, tokens }
  }

  async score(): Promise<never> {
    throw new Error('FakeProgram.score: the fake has no batch-selection statistics')
  }

  exportState(): TrainableState {
    const state: TrainableState = {
      params: new Map([[FAKE_PARAM, { shape: [SIZE], data: Float32Array.from(this.weight) }]]),
      optimizer: new Map([[FAKE_STATE, { shape: [SIZE], data: Float32Array.from(this.lastGrad) }]])
    }
    return this.behaviour.exportHook?.(state, this.calls.length) ?? state
  }

  importState(state: TrainableState): void {
    this.weight = Float32Array.from(state.params.get(FAKE_PARAM)!.data)
    this.lastGrad = Float32Array.from(state.optimizer.get(FAKE_STATE)!.data)
  }

  async release(): Promise<void> {
    this.released = true
  }

  /** Mean over labelled tokens of (w[id mod 64] − (label mod 7)/7)², as float32. */
  private lossAndGradient(batches: readonly TrainingBatch[]): {
    loss: number
    grad: Float64Array
    tokens: number
  } {
    let tokens = 0
    for (const batch of batches) for (const label of batch.labels) if (label !== -100n) tokens++
    const grad = new Float64Array(SIZE)
    let sum = 0
    for (const batch of batches) {
      batch.labels.forEach((label, i) => {
        if (label === -100n) return
        const slot = Number(batch.inputIds[i]) % SIZE
        const diff = this.weight[slot] - Number(label % 7n) / 7
        sum += diff * diff
        grad[slot] += (2 * diff) / tokens
      })
    }
    return { loss: Math.fround(sum / tokens), grad, tokens }
  }
}

/** Trainer options whose createProgram builds FakeStepPrograms and keeps them for inspection. */
export function fakeFactory(behaviour: FakeBehaviour = {}): {
  programs: FakeStepProgram[]
  createProgram: (spec: StepProgramSpec) => Promise<StepProgram>
  resolveRecipe: RecipeResolver
} {
  const programs: FakeStepProgram[] = []
  return {
    programs,
    resolveRecipe,
    createProgram: async (spec) => {
      const program = new FakeStepProgram(spec, behaviour)
      programs.push(program)
      return program
    }
  }
}

/**
 * A recipe's part in the training loop (run-hooks.ts): the JSON state it carries across steps and
 * checkpoints, the rows it picks before each step, the extra inputs it feeds each micro-batch, and
 * the state it updates from each step's result. The trainer owns the loop; this owns the recipe's
 * view of it, so a recipe that declares no run hooks costs the loop nothing.
 */
import type { ModelConfig } from '../checkpoint/hf-config'
import { LiveGenerator, type LiveWeightsSpec } from '../infer/live-generation'
import { Rng } from '../rng'
import type { Device } from '../runtime/devices'
import type { TextTokenizer } from '../tokenizer/tokenizer'
import { collateRows, type TrainingBatch } from './batches'
import { chooseTrainingRows, isBatchSelecting } from './batch-selection'
import type { TrainingExample } from './data'
import type { EpochBatchStream } from './epoch-data'
import { resolveLora } from './lora'
import type { ResolvedRecipe } from './loss-hook'
import { onlineRollouts, type OnlineRollouts, type RolloutPrompt } from './online-rollouts'
import type { BatchUpdate, RecipeState } from './run-hooks'
import type { StepProgram, StepResult } from './step-program'

/** What generating rollouts in the loop needs besides the program (the run's model and settings). */
export interface RolloutSetting {
  modelDir: string
  model: ModelConfig
  tokenizer: TextTokenizer | null
  device: Device
  cacheDir: string
  seed: number
  maxSeqLen: number
  padId: number
}

/** What the step's rollouts cost, and what each reward term gave, reported beside the step's training figures. */
export interface RolloutReport {
  generatedTokens: number
  generationSeconds: number
  /** Per reward term: the sum of its values over the step's completions, and how many there were. */
  terms: Record<string, { sum: number; count: number }>
  /** The sampling temperature used, and the sampling distributions' entropy summed over the tokens. */
  temperature: number
  entropySum: number
  /** The scored groups, in the order of the step's rows (for the rollout log). */
  groups: OnlineRollouts['groups']
}

/** Separates the rollout plans' seeds (prefix lengths) from the run seed's other users ("Plan"). */
const PLAN_STREAM = 0x506c616e

export class RecipeRun {
  private current: RecipeState

  /**
   * `saved` is a resumed checkpoint's state (it wins, even when it is null); `chosen` the state a
   * before-training stage chose for a fresh run (readRunData); otherwise the recipe's initial state.
   */
  private generator: Promise<LiveGenerator> | null = null

  constructor(
    private readonly recipe: ResolvedRecipe,
    private readonly stream: EpochBatchStream,
    private readonly program: StepProgram,
    saved: RecipeState | undefined,
    chosen: RecipeState | undefined,
    private readonly rolloutSetting?: RolloutSetting
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

  /** Whether the recipe generates its rows before each step (run-hooks.ts `rollouts`). */
  get generates(): boolean {
    const { hook, params } = this.recipe
    return hook.rollouts?.online(params) ?? false
  }

  /**
   * The micro-batches with each group of prompt copies replaced by the model's scored completions
   * of that prompt, generated on the current weights for step `step` (1-based).
   */
  async generateRollouts(
    epoch: number,
    step: number,
    microBatches: TrainingBatch[]
  ): Promise<{ batches: TrainingBatch[]; report: RolloutReport }> {
    const { hook, params } = this.recipe
    const setting = this.rolloutSetting
    if (!hook.rollouts || !setting?.tokenizer) {
      throw new Error(`recipe ${hook.name}: generating rollouts needs the run's tokenizer`)
    }
    const rollouts = hook.rollouts
    const { tokenizer } = setting
    const generator = await this.liveGenerator(setting)
    const weights = this.program.exportState().params
    const sampling = rollouts.sampling(params, this.current)
    const report: RolloutReport = {
      generatedTokens: 0,
      generationSeconds: 0,
      terms: {},
      temperature: sampling.temperature,
      entropySum: 0,
      groups: []
    }
    const plan = rollouts.plan?.bind(rollouts)
    const planOf = plan
      ? (prompt: RolloutPrompt) =>
          plan(
            prompt,
            { rng: Rng.fromSeed(setting.seed, PLAN_STREAM, step, prompt.line), state: this.current },
            params
          )
      : undefined
    const batches: TrainingBatch[] = []
    for (const batch of microBatches) {
      // Rows come as groups of groupSize copies of one prompt: one prompt per group.
      const rows = this.examplesOf(epoch, batch)
      const prompts = rows.filter((_, i) => i % sampling.groupSize === 0).map(([example]) => example)
      const generated = await onlineRollouts(
        generator,
        weights,
        prompts,
        tokenizer,
        { ...sampling, maxSeqLen: setting.maxSeqLen, seed: setting.seed, step },
        (group) => rollouts.score(group, params),
        planOf
      )
      report.generatedTokens += generated.generatedTokens
      report.generationSeconds += generated.generationSeconds
      report.entropySum += generated.entropySum
      report.groups.push(...generated.groups)
      for (const { terms } of generated.groups) {
        for (const [term, values] of Object.entries(terms ?? {})) {
          const tally = (report.terms[term] ??= { sum: 0, count: 0 })
          tally.sum += values.reduce((a, b) => a + b, 0)
          tally.count += values.length
        }
      }
      const examples: TrainingExample[] = generated.examples
      const collated = collateRows(
        examples.map((_, i) => [i]),
        examples,
        { padId: setting.padId }
      )
      batches.push({ ...collated, ownExamples: examples })
    }
    return { batches, report }
  }

  /** The generator on live weights, opened once for the run. */
  private liveGenerator(setting: RolloutSetting): Promise<LiveGenerator> {
    this.generator ??= LiveGenerator.open({ modelDir: setting.modelDir }, this.liveSpec(setting), {
      device: setting.device,
      cacheDir: setting.cacheDir
    })
    return this.generator
  }

  /** Which of the program's tensors are trained: a LoRA's A/B, or full fine-tuning's parameters. */
  private liveSpec(setting: RolloutSetting): LiveWeightsSpec {
    const { adapter } = this.program.spec
    if (adapter.kind === 'full') return { kind: 'full', names: [...this.program.trainableNames] }
    const lora = resolveLora(adapter, setting.model, setting.seed)
    return { kind: 'lora', r: lora.config.r, scaling: lora.scaling, modules: lora.modules }
  }

  /** Closes what generating rollouts opened. */
  async release(): Promise<void> {
    if (this.generator) await (await this.generator).release()
    this.generator = null
  }

  /** The examples in each row of `batch`: its own (generated rollouts) or the epoch's. */
  private examplesOf(epoch: number, batch: TrainingBatch): TrainingExample[][] {
    const examples = batch.ownExamples ?? this.stream.examplesOf(epoch)
    return batch.examples.map((row) => row.map((i) => examples[i]))
  }

  /**
   * Sets each micro-batch's declared recipe inputs from the state and which of the batch's updates
   * the step is (`updates`, one per micro-batch: update-cycle.ts), when the recipe feeds any.
   */
  feedInputs(epoch: number, microBatches: TrainingBatch[], updates: readonly BatchUpdate[]): void {
    const { hook, params } = this.recipe
    if (!hook.batchInputs) return
    const stepRowExamples = microBatches.map((batch) => this.examplesOf(epoch, batch))
    for (const [i, batch] of microBatches.entries()) {
      const rowExamples = stepRowExamples[i]
      batch.recipeInputs = hook.batchInputs(
        this.current,
        {
          epoch,
          columns: batch.columns,
          update: updates[i],
          rowLines: this.rowLinesOf(epoch, batch),
          rowExamples,
          stepRowExamples
        },
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
    return this.examplesOf(epoch, batch).map((row) => row.map((example) => example.line))
  }
}

/** Rollout throughput, beside the step's training tokens/s, and each reward term's mean (rewards/<term>). */
export function rolloutMetrics(report: RolloutReport): Record<string, number> {
  const { generatedTokens, generationSeconds } = report
  const terms = Object.entries(report.terms).map(([term, { sum, count }]) => [`rewards/${term}`, sum / count])
  return {
    'rollout/tokens': generatedTokens,
    'rollout/tokens_per_s': generationSeconds > 0 ? generatedTokens / generationSeconds : 0,
    'rollout/temperature': report.temperature,
    'rollout/entropy': generatedTokens > 0 ? report.entropySum / generatedTokens : 0,
    ...Object.fromEntries(terms)
  }
}

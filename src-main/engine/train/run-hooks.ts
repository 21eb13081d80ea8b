/**
 * What a recipe may add to a run besides its loss (loss-hook.ts): a DATA TRANSFORM that reshapes
 * the training data every epoch, a SELECTION among candidate responses scored by the model, and a
 * JSON STATE that it carries from step to step. All run on the JS side of the trainer loop, between
 * graph runs; recipes (src-main/recipes/) implement them, the engine only calls them.
 *
 * Data transform. Two levels, because recipes reshape data at two levels:
 *  - 'conversation': before tokenization, `(conversation, ctx) => conversation | null`; null drops
 *    the row for this epoch (prompt-diversity re-phrases the prompt, branch-filter drops rows).
 *  - 'token': after tokenization and normalisation, `(example, ctx) => example` (masked-thought
 *    masks input ids and keeps labels). The result is normalised again like any pre-tokenized row
 *    (data.ts): a token is trained exactly where its label is set and its weight > 0, and an
 *    example left without a trained token is dropped for this epoch.
 * ctx.rng is seeded from (run seed, epoch, row index), so a row's transform does not depend on
 * batch order or on which rows were read before it, and a resumed run re-derives the same epoch.
 * Only the training data is transformed; held-out data is evaluated as it is.
 *
 * Selection (stage 'before-training'). Rows whose tokens before their first trained token are the
 * same are candidate responses to one prompt, whatever the row format (several Alpaca rows with the
 * same instruction, several conversations with the same first user turn). Before training, the
 * frozen base model scores every candidate's trained tokens in a forward-only pass
 * (engine/infer/scoring.ts) and `keep` says which candidates of each prompt train; the others are
 * left out of every epoch and reported as dropped rows. The base model, not the run's weights, so
 * a resumed run selects exactly the same rows. A recipe selects or transforms, not both.
 *
 * Selection (stage 'before-step', `selectBatch`). Each micro-batch is a batch of candidates that the
 * program scores forward-only with the current weights (statistics built in-graph from the logits);
 * the recipe chooses the rows that train from those and its state (batch-selection.ts).
 *
 * Rollouts (stage 'before-step', `rollouts`). Each micro-batch holds groups of G copies of a prompt
 * row; before the step, the model as it is then answers each prompt G times (live-generation.ts,
 * fed the program's current trainables), the recipe scores the completions, and the copies are
 * replaced by the scored rollouts (online-rollouts.ts). Seeded by (run seed, step, line), so a
 * resumed run generates what the uninterrupted one did. A `plan` adds the data row's gold response
 * to a group: as a hint after the prompt (seele), as prefixes completions continue (prefix-rft), or
 * as one more row after the completions (chord).
 *
 * Batch reuse (`updatesPerBatch`). The micro-batches of one optimizer step train for that many
 * consecutive steps (grpo's inner iterations); `batchInputs` sees which update a step is and, from
 * the second on, the first update's token log-probabilities (update-cycle.ts).
 *
 * Recipe state. `initialState(params)` starts it, `updateState(state, report)` follows every
 * optimizer step, and `batchInputs(state, rows)` derives the next batches' recipe inputs from it; the trainer saves it in every checkpoint (trainer_state.json, `recipeState`)
 * and a resumed run continues from the saved value, so it must be plain JSON (no NaN, −0 or
 * undefined, which JSON does not keep), and updateState must be a pure function of its arguments.
 */
import type { Tensor } from '../graph/index'
import type { Rng } from '../rng'
import type { ChatMessage } from '../tokenizer/chat-template'
import type { TextTokenizer } from '../tokenizer/tokenizer'
import type { ExampleTokens, TrainingExample } from './data'
import type { LossContext, RecipeParams } from './loss-hook'
import type { GroupRewards, RolloutGroupPlan, RolloutGroupText, RolloutPrompt } from './online-rollouts'
import type { StepResult } from './step-program'

/** A training row as a conversation-level transform sees it (and returns it). */
export interface Conversation {
  messages: ChatMessage[]
  tools: unknown[] | null
  /**
   * A preference row's rejected conversation, for the transform to read (self-correction-format
   * shows it as a wrong first answer); only `messages` is trained.
   */
  rejected?: ChatMessage[]
}

/** The token arrays of one example; labels are not shifted (see data.ts). */
export type TokenExample = ExampleTokens

export interface TransformContext<P> {
  /** 0-based epoch being derived. */
  epoch: number
  /** 0-based index of the row in the data file (blank lines not counted). */
  rowIndex: number
  /** Seeded from (run seed, epoch, rowIndex): draw from it, never from Math.random. */
  rng: Rng
  params: P
}

export interface TokenTransformContext<P> extends TransformContext<P> {
  /** The id a masked input token becomes: the tokenizer's unk token, else its pad token, else 0. */
  maskTokenId: number
  /** The run's tokenizer; null when the model has none (pre-tokenized data only). */
  tokenizer: TextTokenizer | null
}

export type DataTransform<P> =
  | {
      level: 'conversation'
      apply(conversation: Conversation, ctx: TransformContext<P>): Conversation | null
    }
  | { level: 'token'; apply(example: TokenExample, ctx: TokenTransformContext<P>): TokenExample }

/** One candidate response as the selection pass scored it. */
export interface ScoredCandidate {
  /** 1-based line of its row in the data file. */
  line: number
  /** Σ log p(token | tokens before it) over the candidate's trained tokens, under the base model. */
  logprob: number
  /** How many tokens are trained (and scored). */
  tokens: number
}

export interface CandidateSelection<P> {
  stage: 'before-training'
  /** Indices into `candidates` (one prompt's, in file order) of those to train; at least one. */
  keep(candidates: readonly ScoredCandidate[], params: P): number[]
}

/**
 * Before training, the model answers each prompt greedily (own-answers.ts); where `accept` judges
 * its answer equal to the gold response, the example trains on the model's own answer instead.
 */
export interface OwnAnswerJudge<P> {
  stage: 'before-training'
  maxNewTokens(params: P): number
  accept(own: string, gold: string, params: P): boolean
}

/** A forward-only statistic of a candidate batch: row-major values, the first dimension the rows. */
export interface CandidateStatistic {
  shape: number[]
  data: Float32Array
}

/**
 * Online batch selection (stage 'before-step'): every micro-batch the stream yields is a batch of
 * candidates; a forward-only pass with the current weights computes `statistics` (in-graph, from
 * the loss context) for every row, `choose` picks the rows that train and may update the recipe
 * state (a memory of past choices), and the step trains on the chosen rows only. The scoring pass
 * feeds no recipe inputs, so a selecting recipe declares none.
 */
export interface BatchSelection<P> {
  stage: 'before-step'
  /** Per-row statistics by name, each [B, …], from the logits [B, S, V]; no dropout in this pass. */
  statistics(logits: Tensor, ctx: LossContext<P & RecipeParams>): Record<string, Tensor>
  /** Indices of the rows to train (at least one) and the state after the choice; pure. */
  choose(
    state: RecipeState,
    statistics: Readonly<Record<string, CandidateStatistic>>,
    params: P
  ): { rows: number[]; state: RecipeState }
}

/** JSON-serialisable recipe state. */
export type RecipeState = null | boolean | number | string | RecipeState[] | { [key: string]: RecipeState }

/** What the trainer tells `updateState` after an optimizer step. */
export interface RecipeStepReport {
  /** 1-based number of the step just taken. */
  step: number
  /** The epoch its data came from (0-based). */
  epoch: number
  /** The program's result: loss, metrics, and per-sample outputs where the recipe declares them. */
  result: StepResult
  /** Source-file line of the examples in each row, per micro-batch: stable across epochs. */
  rowLines: number[][][]
}

/**
 * Which of a batch's updates a step is (updatesPerBatch): the first, or a later one with the
 * first one's per-token log-probabilities.
 */
export interface BatchUpdate {
  /** 1-based: 1 is the first step on the batch, updatesPerBatch the last. */
  index: number
  /**
   * From update 2 on, log p(target) of every predicting position [rows × columns] as the first
   * update's forward pass computed it (before any of the batch's updates), aligned like the loss's
   * tokenLogProbs: entry t concerns the token at t + 1; 0 in the last column. Null on update 1.
   */
  firstTokenLogProbs: Float32Array | null
}

/** The rows of one micro-batch about to be trained, as `batchInputs` sees them. */
export interface RecipeBatchRows {
  /** The epoch its data comes from (0-based). */
  epoch: number
  /** The micro-batch's columns (a per-token input is [rows × columns]). */
  columns: number
  /** Which of the batch's updates the step is (always the first unless updatesPerBatch > 1). */
  update: BatchUpdate
  /** Source-file line of the examples in each row: stable across epochs. */
  rowLines: number[][]
  /** The examples in each row, with what the data carries beside the tokens (a rollout's reward). */
  rowExamples: readonly (readonly TrainingExample[])[]
  /**
   * `rowExamples` of every micro-batch of the optimizer step, this one included, for inputs that
   * are totals over the step; absent when this micro-batch is the whole step.
   */
  stepRowExamples?: readonly (readonly (readonly TrainingExample[])[])[]
}

/** Rollouts generated on the current weights before each step (see the module comment). */
export interface OnlineRolloutHook<P> {
  stage: 'before-step'
  /** Whether this run generates its rollouts (false: its data are rollouts already). */
  online(params: P): boolean
  /** Completions per prompt, and how they are sampled (the temperature may follow the recipe state). */
  sampling(
    params: P,
    state: RecipeState
  ): { groupSize: number; temperature: number; topP: number; maxNewTokens: number }
  /** One reward per completion, in order, and each reward term's values (reported per step). */
  score(group: RolloutGroupText, params: P): Promise<GroupRewards>
  /**
   * What a prompt's group holds besides completions sampled from the prompt (online-rollouts.ts):
   * a hint, prefixes of the demonstration, the demonstration row. Pure: draw only from `rng`,
   * seeded from (run seed, step, line), so a resumed run plans what the uninterrupted one did.
   */
  plan?(prompt: RolloutPrompt, ctx: { rng: Rng; state: RecipeState }, params: P): RolloutGroupPlan
}

/** The run-level part of a recipe (the loss hook extends it); every member is optional. */
export interface RecipeRunHooks<P> {
  transform?: DataTransform<P>
  select?: CandidateSelection<P>
  selectBatch?: BatchSelection<P>
  rollouts?: OnlineRolloutHook<P>
  /** Own answers in place of gold; the recipe state is then the record of that choice. */
  answer?: OwnAnswerJudge<P>
  /**
   * How many consecutive optimizer steps train on each step's batch (grpo's μ, TRL's
   * num_iterations); default 1. The batch is taken (read, selected, generated) once, before its
   * first update; see update-cycle.ts.
   */
  updatesPerBatch?(params: P): number
  initialState?(params: P): RecipeState
  updateState?(state: RecipeState, report: RecipeStepReport, params: P): RecipeState
  /**
   * The values of the recipe's declared inputs (loss-hook.ts) for one micro-batch, derived from the
   * state before the step (GLOW: each row's loss in the previous epoch); pure, like updateState.
   */
  batchInputs?(
    state: RecipeState,
    rows: RecipeBatchRows,
    params: P
  ): Record<string, Float32Array | BigInt64Array>
}

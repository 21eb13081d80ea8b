/**
 * A reward function is declared once, like a recipe (recipes/types.ts): the registry validates its
 * parameters with the recipes' declaration types, `rewards.list` and `finetune-studio rewards list`
 * describe it, and `score` turns one completion into one finite number. Rewards score text: they
 * import nothing from engine/ and never generate.
 */
import type { RecipeParams } from '../engine/train/loss-hook'
import type { PaperCitation, RecipeParam } from '../recipes/types'
import type { RewardSession } from './session'

/** One completion to score, with what it answers and the gold answer (when the data has one). */
export interface RewardInput {
  prompt: string
  completion: string
  /** The gold answer text; a reward may read a metadata key instead (its `reference_key` param). */
  reference: string | null
  metadata: Readonly<Record<string, unknown>>
  /** The completion's length in tokens, when the caller tokenised it (length_penalty reads it). */
  completionTokens?: number
}

/** A reward's value, with why it is what it is where that needs saying (a failure, the unit read). */
export interface RewardValue {
  value: number
  reason?: string
}

export interface RewardFunction {
  /** The spec / CLI name, lower-case with underscores. */
  name: string
  title: string
  /** What it scores and its range, for the UI and `rewards list`. */
  description: string
  /** null where the scoring is not from a paper. */
  paper: PaperCitation | null
  params: readonly RecipeParam[]
  /**
   * Checks what one parameter cannot say alone (a file exists, one length below another); throws
   * with the reason, naming the parameter. Runs once per spec, before any row is scored.
   */
  check?(params: RecipeParams): void | Promise<void>
  score(input: RewardInput, params: RecipeParams, session: RewardSession): RewardValue | Promise<RewardValue>
}

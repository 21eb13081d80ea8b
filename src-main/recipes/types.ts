/**
 * A recipe is declared once: the UI, `--help`, validation and the step-graph compiler all read the
 * same object. Its `loss` is the loss hook the engine declares (engine/train/loss-hook.ts, where its
 * contract is described); the rest describes the recipe to people and checks its parameters.
 */
import type { LossHook, RecipeParams } from '../engine/train/loss-hook'

/** One tunable setting of a recipe, set from the CLI or the UI (values may arrive as strings). */
export type RecipeParam = {
  name: string
  description: string
} & (
  | { type: 'number' | 'integer'; default: number; min?: number; max?: number }
  | { type: 'boolean'; default: boolean }
  | { type: 'choice'; choices: readonly string[]; default: string }
  | {
      type: 'text'
      default: string
      maxLength?: number
      /** Throws with the reason a value cannot be used (a pattern that does not compile, say). */
      check?: (value: string) => void
    }
)

export interface PaperCitation {
  title: string
  authors: string
  year: number
  /** arXiv id, e.g. "2508.05629". */
  arxiv?: string
  url: string
}

/** Where the UI files a recipe: SFT variants, data selection, preference learning, RL. */
export type RecipeGroup = 'sft' | 'selection' | 'preference' | 'rl'

/** Data or tools a recipe cannot run without; pre-flight checks them and the UI names them. */
export type RecipeRequirement = 'preference-data' | 'answer-checker' | 'reasoning-steps'

/** A loss hook with what people and the registry need to know of it. */
export interface Recipe<P extends RecipeParams = RecipeParams> extends LossHook<P> {
  /** The CLI / API name (`--recipe NAME`), lower-case with dashes. */
  name: string
  title: string
  /** One paragraph for the UI and `--help`. */
  summary: string
  /** null for recipes that are not from a paper (plain SFT). */
  paper: PaperCitation | null
  group: RecipeGroup
  requires?: readonly RecipeRequirement[]
  params: readonly RecipeParam[]
}

/** Training recipes as the engine declares them, for forms and validation. */
import { call, noInput } from './shared'

/** A recipe parameter as declared in src-main/recipes (for forms and validation). */
export type RecipeParamInfo = { name: string; description: string } & (
  | { type: 'number' | 'integer'; default: number; min?: number; max?: number }
  | { type: 'boolean'; default: boolean }
  | { type: 'choice'; choices: string[]; default: string }
  | { type: 'text'; default: string; maxLength?: number }
)

/** Where a recipe is filed: SFT variants, data selection, preference learning, RL. */
export type RecipeGroup = 'sft' | 'selection' | 'preference' | 'rl'

/** Data or tools a recipe cannot run without (pre-flight checks the data). */
export type RecipeRequirement = 'preference-data' | 'answer-checker' | 'reasoning-steps'

export interface RecipeInfo {
  name: string
  title: string
  /** One paragraph for the UI and --help. */
  summary: string
  paper: { title: string; authors: string; year: number; arxiv?: string; url: string } | null
  group: RecipeGroup
  /** Empty when the recipe trains on any conversation data. */
  requires: RecipeRequirement[]
  params: RecipeParamInfo[]
  /** The recipe runs the frozen base model in every step too (an extra forward pass). */
  usesBaseModel: boolean
}

export const recipeCalls = {
  'recipes.list': call<RecipeInfo[]>()(
    'Every recipe the engine knows: explanation, group, paper, what it needs, parameters with defaults and ranges.',
    noInput
  )
} as const

/**
 * How recipes are filed and what their needs are called, in words people read: the Recipes view
 * and `finetune-studio recipes` show the same groups in the same order. Kept apart from contract/
 * so the renderer does not bundle zod.
 */
import type { RecipeGroup, RecipeParamInfo, RecipeRequirement } from './contract/recipes'

export interface RecipeGroupLabel {
  group: RecipeGroup
  title: string
  /** Said in place of the recipes while the group has none. */
  comingNote: string
}

/** Every group, in the order they are shown. */
export const RECIPE_GROUPS: readonly RecipeGroupLabel[] = [
  { group: 'sft', title: 'SFT variants', comingNote: 'SFT variants are coming.' },
  { group: 'selection', title: 'Data selection', comingNote: 'Data-selection recipes are coming.' },
  { group: 'preference', title: 'Preference', comingNote: 'Preference recipes are coming.' },
  {
    group: 'rl',
    title: 'RL',
    comingNote: 'Reinforcement learning with verifiable rewards (GRPO and its kin) is coming.'
  }
]

export const REQUIREMENT_LABELS: Readonly<Record<RecipeRequirement, string>> = {
  'preference-data': 'needs preference data',
  'answer-checker': 'needs a checker for answers',
  'reasoning-steps': 'needs reasoning steps'
}

/** The recipes of each group, in the order of RECIPE_GROUPS; a group without recipes is kept (empty). */
export function recipesByGroup<R extends { group: RecipeGroup }>(
  recipes: readonly R[]
): { label: RecipeGroupLabel; recipes: R[] }[] {
  return RECIPE_GROUPS.map((label) => ({
    label,
    recipes: recipes.filter((recipe) => recipe.group === label.group)
  }))
}

/**
 * A parameter's default as people read it: text in quotes, so its spaces show, and unescaped, so a
 * pattern reads as it is typed.
 */
export function paramDefaultLabel(param: RecipeParamInfo): string {
  return param.type === 'text' ? `"${param.default}"` : String(param.default)
}

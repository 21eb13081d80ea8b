/**
 * A recipe's parameter form, generated from the declarations recipes.list gives: the starting
 * values, and the words under each field. The Recipes view's cards and the new-run form share it.
 */
import type { RecipeInfo, RecipeParamInfo } from '../../../../src-preload/contract'
import { paramDefaultLabel } from '../../../../src-preload/recipe-labels'

/** A parameter's value as its field holds it ('' while a number field is empty). */
export type RecipeParamValue = number | boolean | string

/** Every declared parameter at its default (a reward's parameters are declared the same way). */
/** A recipe's parameters the generated form shows: a reward spec (`rewards`) has its own panel (Rewards). */
export function formFieldParams(recipe: Pick<RecipeInfo, 'params'> | null | undefined): RecipeParamInfo[] {
  return (recipe?.params ?? []).filter((param) => param.name !== 'rewards')
}

export function recipeDefaults(recipe: Pick<RecipeInfo, 'params'>): Record<string, RecipeParamValue> {
  return Object.fromEntries(recipe.params.map((param) => [param.name, param.default]))
}

/**
 * What the parameter does, its default and, for numbers, its range ("λ … — default 0.1, from 0 to
 * 100"), for text its longest length.
 */
export function paramHint(param: RecipeParamInfo): string {
  const parts = [`default ${paramDefaultLabel(param)}`]
  if (param.type === 'number' || param.type === 'integer') {
    if (param.min !== undefined && param.max !== undefined) parts.push(`from ${param.min} to ${param.max}`)
    else if (param.min !== undefined) parts.push(`at least ${param.min}`)
    else if (param.max !== undefined) parts.push(`at most ${param.max}`)
    if (param.type === 'integer') parts.push('whole numbers')
  }
  if (param.type === 'text' && param.maxLength !== undefined)
    parts.push(`at most ${param.maxLength} characters`)
  // Descriptions are written as sentences or as phrases; the hint goes on after either.
  return `${param.description.replace(/\.$/, '')} — ${parts.join(', ')}`
}

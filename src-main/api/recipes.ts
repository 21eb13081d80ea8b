import type { RecipeInfo } from '../../src-preload/contract'
import { listRecipes, type Recipe } from '../recipes'
import type { Handlers } from './handlers'

/** A recipe declaration as the contract shows it: everything but the loss hook. */
export function recipeInfo(recipe: Recipe): RecipeInfo {
  return {
    name: recipe.name,
    title: recipe.title,
    summary: recipe.summary,
    paper: recipe.paper && { ...recipe.paper },
    group: recipe.group,
    requires: [...(recipe.requires ?? [])],
    params: recipe.params.map((param) =>
      param.type === 'choice' ? { ...param, choices: [...param.choices] } : { ...param }
    ),
    usesBaseModel: recipe.needs.baseModelLogits === true
  }
}

export const recipeHandlers: Pick<Handlers, 'recipes.list'> = {
  'recipes.list': () => listRecipes().map(recipeInfo)
}

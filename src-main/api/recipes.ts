import type { RecipeInfo, RecipeParamInfo } from '../../src-preload/contract'
import { listRecipes, type Recipe, type RecipeParam } from '../recipes'
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
    params: recipe.params.map(paramInfo),
    usesBaseModel: recipe.needs.baseModelLogits === true
  }
}

/** A parameter as the contract shows it: plain data, so a text parameter's `check` stays in main. */
export function paramInfo(param: RecipeParam): RecipeParamInfo {
  switch (param.type) {
    case 'choice':
      return { ...param, choices: [...param.choices] }
    case 'text': {
      const { check: _check, ...info } = param
      return info
    }
    default:
      return { ...param }
  }
}

export const recipeHandlers: Pick<Handlers, 'recipes.list'> = {
  'recipes.list': () => listRecipes().map(recipeInfo)
}

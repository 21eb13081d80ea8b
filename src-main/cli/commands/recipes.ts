/**
 * `finetune-studio recipes`: every training recipe, grouped as the Recipes view groups them, with
 * its paper, what it needs and its parameters. The registry is read directly, so no store is
 * opened (train --help prints the same listing).
 */
import type { RecipeInfo } from '../../../src-preload/contract'
import { paramDefaultLabel, recipesByGroup, REQUIREMENT_LABELS } from '../../../src-preload/recipe-labels'
import { recipeInfo } from '../../api/recipes'
import { listRecipes } from '../../recipes/index'
import { JSON_OPTION, type Command } from '../command'

/** "Wu et al. (2025), "Title", arXiv:2508.05629" (the URL where there is no arXiv id). */
function citation(paper: NonNullable<RecipeInfo['paper']>): string {
  const firstAuthor = paper.authors.split(',')[0].trim()
  const etAl = paper.authors.includes(',') ? ' et al.' : ''
  return `${firstAuthor}${etAl} (${paper.year}), "${paper.title}", ${paper.arxiv ? `arXiv:${paper.arxiv}` : paper.url}`
}

/** The recipes by group: each a line with its name and title, then its citation, needs and parameters. */
export function recipeListing(recipes: readonly RecipeInfo[]): string {
  const width = Math.max(...recipes.map((recipe) => recipe.name.length))
  const indent = ' '.repeat(width + 3)
  const lines: string[] = []
  for (const { label, recipes: inGroup } of recipesByGroup(recipes)) {
    lines.push(`${label.title}:`)
    if (inGroup.length === 0) lines.push(`  ${label.comingNote}`)
    for (const recipe of inGroup) {
      lines.push(`  ${recipe.name.padEnd(width)} ${recipe.title}`)
      lines.push(`${indent}${recipe.paper ? citation(recipe.paper) : 'standard method, no single paper'}`)
      if (recipe.requires.length > 0) {
        lines.push(`${indent}${recipe.requires.map((need) => REQUIREMENT_LABELS[need]).join('; ')}`)
      }
      for (const param of recipe.params) {
        lines.push(
          `${indent}--recipe-param ${param.name}=… (default ${paramDefaultLabel(param)}): ${param.description}`
        )
      }
    }
  }
  return lines.join('\n')
}

/** The registry's recipes as recipes.list gives them. */
export function registeredRecipes(): RecipeInfo[] {
  return listRecipes().map(recipeInfo)
}

export const recipesCommand: Command = {
  words: ['recipes'],
  summary: 'List the training recipes by group, with their papers, needs and parameters.',
  details: '`finetune-studio train --recipe NAME --recipe-param k=v` trains with one.',
  options: { json: JSON_OPTION },
  async run(args, io) {
    const recipes = registeredRecipes()
    io.out(args.values.json ? JSON.stringify(recipes, null, 2) : recipeListing(recipes))
  }
}

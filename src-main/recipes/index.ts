/**
 * The recipe registry: every recipe the app knows, declared once (types.ts) and read by the UI,
 * the CLI's help and validation, and — through `resolveRecipe`, which callers hand the trainer —
 * the step-graph compiler.
 */
import type { RecipeParams, RecipeResolver } from '../engine/train/loss-hook'
import { asft } from './asft'
import { branchFilter } from './branch-filter'
import { chord } from './chord'
import { dft } from './dft'
import { dpo } from './dpo'
import { firstStep } from './first-step'
import { glow } from './glow'
import { grape } from './grape'
import { grpo } from './grpo'
import { maskedThought } from './masked-thought'
import { otr } from './otr'
import { poft } from './poft'
import { prefixRft } from './prefix-rft'
import { promptDiversity } from './prompt-diversity'
import { s3ft } from './s3ft'
import { seele } from './seele'
import { selfCorrectionFormat } from './self-correction-format'
import { sft } from './sft'
import { spanWeights } from './span-weights'
import { declaredRegistry, describeParam, resolveDeclaredParams } from './params'
import type { Recipe } from './types'
import { uds } from './uds'

export type * from './types'

const RECIPES: readonly Recipe[] = declaredRegistry('recipes', [
  sft,
  dft,
  asft,
  maskedThought,
  firstStep,
  promptDiversity,
  selfCorrectionFormat,
  glow,
  spanWeights,
  otr,
  grape,
  uds,
  s3ft,
  branchFilter,
  dpo,
  poft,
  grpo,
  chord,
  prefixRft,
  seele
])

export function listRecipes(): readonly Recipe[] {
  return RECIPES
}

export function recipeNames(): string[] {
  return RECIPES.map((recipe) => recipe.name)
}

export function getRecipe(name: string): Recipe {
  const recipe = RECIPES.find((r) => r.name === name)
  if (!recipe) {
    throw new Error(`getRecipe: unknown recipe ${JSON.stringify(name)}; known: ${recipeNames().join(', ')}`)
  }
  return recipe
}

/**
 * The recipe's parameters with `given` applied over the defaults. Values may be typed or strings
 * (from the command line: "0.05", "true"); each is checked against its declaration (type, range,
 * choices, length, a text parameter's own check) and unknown names are refused.
 */
export function resolveRecipeParams(
  name: string,
  given: Readonly<Record<string, unknown>> = {}
): RecipeParams {
  return resolveDeclaredParams(`recipe ${name}`, getRecipe(name).params, given)
}

/** The registry as the trainer takes it (engine/train/loss-hook.ts). */
export const resolveRecipe: RecipeResolver = (name, given = {}) => ({
  hook: getRecipe(name),
  params: resolveRecipeParams(name, given)
})

/** The recipe's `--help` text: title, summary, citation and parameters. */
export function recipeHelp(recipe: Recipe): string {
  const lines = [`${recipe.name} — ${recipe.title}`, '', recipe.summary]
  if (recipe.paper) {
    const { title, authors, year, arxiv, url } = recipe.paper
    lines.push('', `Paper: ${authors} (${year}). "${title}". ${arxiv ? `arXiv:${arxiv}, ` : ''}${url}`)
  }
  if (recipe.params.length > 0) {
    lines.push('', 'Parameters:')
    for (const param of recipe.params)
      lines.push(`  ${param.name} (${describeParam(param)}): ${param.description}`)
  }
  return lines.join('\n')
}

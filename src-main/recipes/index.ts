/**
 * The recipe registry: every recipe the app knows, declared once (types.ts) and read by the UI,
 * the CLI's help and validation, and — through `resolveRecipe`, which callers hand the trainer —
 * the step-graph compiler.
 */
import type { ParamValue, RecipeParams, RecipeResolver } from '../engine/train/loss-hook'
import { asft } from './asft'
import { branchFilter } from './branch-filter'
import { dft } from './dft'
import { dpo } from './dpo'
import { firstStep } from './first-step'
import { glow } from './glow'
import { grape } from './grape'
import { maskedThought } from './masked-thought'
import { otr } from './otr'
import { poft } from './poft'
import { promptDiversity } from './prompt-diversity'
import { s3ft } from './s3ft'
import { selfCorrectionFormat } from './self-correction-format'
import { sft } from './sft'
import { spanWeights } from './span-weights'
import type { Recipe, RecipeParam } from './types'
import { uds } from './uds'

export type * from './types'

const RECIPES: readonly Recipe[] = registry([
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
  poft
])

function registry(recipes: readonly Recipe[]): readonly Recipe[] {
  const seen = new Set<string>()
  for (const recipe of recipes) {
    if (seen.has(recipe.name)) throw new Error(`recipes: "${recipe.name}" is registered twice`)
    seen.add(recipe.name)
    const params = new Set<string>()
    for (const param of recipe.params) {
      if (params.has(param.name)) throw new Error(`recipes: "${recipe.name}" declares "${param.name}" twice`)
      params.add(param.name)
      // A declared default must pass its own check, or every run that keeps it would fail late.
      if (param.type === 'text')
        parseText(`recipe ${recipe.name}: parameter ${param.name}`, param, param.default)
    }
  }
  return recipes
}

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
  const recipe = getRecipe(name)
  const resolved: Record<string, ParamValue> = {}
  for (const param of recipe.params) resolved[param.name] = param.default
  for (const [key, value] of Object.entries(given)) {
    const param = recipe.params.find((p) => p.name === key)
    if (!param) {
      const known = recipe.params.map((p) => p.name)
      throw new Error(
        `recipe ${name}: unknown parameter ${JSON.stringify(key)}; ` +
          (known.length > 0 ? `known: ${known.join(', ')}` : 'it takes no parameters')
      )
    }
    resolved[key] = parseParam(name, param, value)
  }
  return resolved
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

function describeParam(param: RecipeParam): string {
  switch (param.type) {
    case 'number':
    case 'integer': {
      const range = [
        param.min !== undefined ? `≥ ${param.min}` : null,
        param.max !== undefined ? `≤ ${param.max}` : null
      ].filter((part) => part !== null)
      return [param.type, `default ${param.default}`, ...range].join(', ')
    }
    case 'boolean':
      return `boolean, default ${param.default}`
    case 'choice':
      return `one of ${param.choices.join(' | ')}, default ${param.default}`
    case 'text':
      return (
        `text, default "${param.default}"` +
        (param.maxLength !== undefined ? `, at most ${param.maxLength} characters` : '')
      )
  }
}

function parseParam(recipe: string, param: RecipeParam, value: unknown): ParamValue {
  const where = `recipe ${recipe}: parameter ${param.name}`
  switch (param.type) {
    case 'number':
    case 'integer': {
      const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
      if (typeof number !== 'number' || !Number.isFinite(number)) {
        throw new Error(`${where} must be a finite number, got ${JSON.stringify(value)}`)
      }
      if (param.type === 'integer' && !Number.isInteger(number)) {
        throw new Error(`${where} must be an integer, got ${number}`)
      }
      if (param.min !== undefined && number < param.min) {
        throw new Error(`${where} must be ≥ ${param.min}, got ${number}`)
      }
      if (param.max !== undefined && number > param.max) {
        throw new Error(`${where} must be ≤ ${param.max}, got ${number}`)
      }
      return number
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value
      if (value === 'true' || value === 'false') return value === 'true'
      throw new Error(`${where} must be true or false, got ${JSON.stringify(value)}`)
    }
    case 'choice': {
      if (typeof value === 'string' && param.choices.includes(value)) return value
      throw new Error(`${where} must be one of ${param.choices.join(', ')}, got ${JSON.stringify(value)}`)
    }
    case 'text':
      return parseText(where, param, value)
  }
}

function parseText(where: string, param: Extract<RecipeParam, { type: 'text' }>, value: unknown): string {
  if (typeof value !== 'string') throw new Error(`${where} must be text, got ${JSON.stringify(value)}`)
  if (param.maxLength !== undefined && value.length > param.maxLength) {
    throw new Error(`${where} must be at most ${param.maxLength} characters, got ${value.length}`)
  }
  try {
    param.check?.(value)
  } catch (error) {
    throw new Error(`${where}: ${JSON.stringify(value)} is refused: ${(error as Error).message}`)
  }
  return value
}

/**
 * Declared parameters (types.ts `RecipeParam`) checked and described the same way wherever they are
 * declared: recipes here, reward functions in src-main/rewards. `owner` names the declaring thing
 * in every message ("recipe asft", "rewards: term 2 (numeric_match)").
 */
import type { ParamValue, RecipeParams } from '../engine/train/loss-hook'
import type { RecipeParam } from './types'

/**
 * A registry's entries (recipes, rewards), checked once when the module loads: a name registered
 * twice, or an entry's parameters refused by checkDeclaredParams, throws naming the entry.
 */
export function declaredRegistry<T extends { name: string; params: readonly RecipeParam[] }>(
  kind: string,
  entries: readonly T[]
): readonly T[] {
  const seen = new Set<string>()
  for (const entry of entries) {
    if (seen.has(entry.name)) throw new Error(`${kind}: "${entry.name}" is registered twice`)
    seen.add(entry.name)
    checkDeclaredParams(`${kind}: "${entry.name}"`, entry.params)
  }
  return entries
}

/** Refuses a declaration list that names a parameter twice or whose text default fails its own check. */
function checkDeclaredParams(owner: string, declared: readonly RecipeParam[]): void {
  const names = new Set<string>()
  for (const param of declared) {
    if (names.has(param.name)) throw new Error(`${owner} declares "${param.name}" twice`)
    names.add(param.name)
    // A declared default must pass its own check, or every use that keeps it would fail late.
    if (param.type === 'text') parseText(`${owner}: parameter ${param.name}`, param, param.default)
  }
}

/**
 * The declared parameters with `given` applied over the defaults. Values may be typed or strings
 * (from the command line: "0.05", "true"); each is checked against its declaration (type, range,
 * choices, length, a text parameter's own check) and unknown names are refused.
 */
export function resolveDeclaredParams(
  owner: string,
  declared: readonly RecipeParam[],
  given: Readonly<Record<string, unknown>> = {}
): RecipeParams {
  const resolved: Record<string, ParamValue> = {}
  for (const param of declared) resolved[param.name] = param.default
  for (const [key, value] of Object.entries(given)) {
    const param = declared.find((p) => p.name === key)
    if (!param) {
      const known = declared.map((p) => p.name)
      throw new Error(
        `${owner}: unknown parameter ${JSON.stringify(key)}; ` +
          (known.length > 0 ? `known: ${known.join(', ')}` : 'it takes no parameters')
      )
    }
    resolved[key] = parseParam(`${owner}: parameter ${param.name}`, param, value)
  }
  return resolved
}

/** "number, default 0.1, ≥ 0", "one of a | b, default a", … for help texts. */
export function describeParam(param: RecipeParam): string {
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

function parseParam(where: string, param: RecipeParam, value: unknown): ParamValue {
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

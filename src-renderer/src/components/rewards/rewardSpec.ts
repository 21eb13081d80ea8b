/**
 * A reward spec as the new-run form holds it while the user composes it: terms whose weight and
 * parameters are what their fields give ('' while a number field is empty), turned into the
 * contract's spec when it is sent, and written and read back as JSON for power users. Whether a
 * reward and its parameters are valid is the server's to say (its message names the term).
 */
import type { RewardInfo, RewardSpecInput } from '../../../../src-preload/contract'
import { recipeDefaults, type RecipeParamValue } from '../runs/recipeParams'

export interface RewardTermDraft {
  reward: string
  weight: number | ''
  params: Record<string, RecipeParamValue>
}

export interface RewardSpecDraft {
  terms: RewardTermDraft[]
}

/** A new term of `reward`: weight 1, every parameter at its default. */
export function defaultRewardTerm(reward: RewardInfo): RewardTermDraft {
  // Reward parameters are declared as recipe parameters are, so the recipes' defaults serve both.
  return { reward: reward.name, weight: 1, params: recipeDefaults({ params: reward.params }) }
}

/** The spec to send, or what keeps the draft from being one, naming the term (numbered from 1). */
export function buildRewardSpec(draft: RewardSpecDraft): {
  spec: RewardSpecInput | null
  problems: string[]
} {
  const problems: string[] = []
  if (draft.terms.length === 0) problems.push('Add a reward')
  draft.terms.forEach((term, i) => {
    const name = `Reward ${i + 1} (${term.reward})`
    if (typeof term.weight !== 'number' || !Number.isFinite(term.weight))
      problems.push(`${name}: the weight must be a number`)
    for (const [param, value] of Object.entries(term.params)) {
      if (value === '' || (typeof value === 'number' && !Number.isFinite(value)))
        problems.push(`${name}: parameter ${param} must be a value`)
    }
  })
  if (problems.length > 0) return { spec: null, problems }
  const terms = draft.terms.map((term) => ({
    reward: term.reward,
    weight: term.weight as number,
    params: { ...term.params }
  }))
  return { spec: { terms }, problems }
}

/** The draft as the JSON the spec editor shows. */
export function rewardSpecJson(draft: RewardSpecDraft): string {
  return JSON.stringify({ terms: draft.terms }, null, 2)
}

type ParsedTerms = { terms: RewardTermDraft[] } | { error: string }

/**
 * The terms a JSON text gives, or what is wrong with it, naming the term (from 0, as the server's
 * messages do). Parameters a known reward's term leaves out take their defaults, so its form has a
 * value for every field.
 */
export function parseRewardSpecJson(text: string, rewards: readonly RewardInfo[]): ParsedTerms {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return { error: `Not JSON: ${(error as Error).message}` }
  }
  const terms = (value as { terms?: unknown } | null)?.terms
  if (typeof value !== 'object' || value === null || !Array.isArray(terms))
    return { error: 'The spec must be an object with a "terms" list' }
  const parsed: RewardTermDraft[] = []
  for (const [index, term] of terms.entries()) {
    const problem = termProblem(term)
    if (problem) return { error: `term ${index}: ${problem}` }
    const { reward, weight, params = {} } = term as RewardTermDraft
    const declared = rewards.find((info) => info.name === reward)
    const defaults = declared ? defaultRewardTerm(declared).params : {}
    parsed.push({ reward, weight, params: { ...defaults, ...params } })
  }
  return { terms: parsed }
}

function termProblem(term: unknown): string | null {
  if (typeof term !== 'object' || term === null || Array.isArray(term)) return 'must be an object'
  const { reward, weight, params, ...rest } = term as Record<string, unknown>
  const extra = Object.keys(rest)
  if (extra.length > 0) return `unknown field ${JSON.stringify(extra[0])} (reward, weight, params)`
  if (typeof reward !== 'string' || reward === '') return '"reward" must be a reward’s name'
  if (typeof weight !== 'number') return '"weight" must be a number'
  if (params === undefined) return null
  if (typeof params !== 'object' || params === null || Array.isArray(params))
    return '"params" must be an object'
  for (const [name, param] of Object.entries(params)) {
    if (!['string', 'number', 'boolean'].includes(typeof param))
      return `parameter ${name} must be a text, a number or true/false`
  }
  return null
}

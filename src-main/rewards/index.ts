/**
 * The reward registry and composition. A reward spec is a weighted sum of declared reward
 * functions, `{ terms: [{ reward, weight, params }] }`; `resolveRewardSpec` checks it against the
 * declarations (naming the term and parameter at fault) and `scoreRows` scores completions with it:
 * total = Σ weight · value, each term's value and reason kept for display. Scoring is async: the SQL
 * reward runs its queries in another process.
 */
import type { RewardRowScore, RewardTermScore } from '../../src-preload/contract'
import type { RecipeParams } from '../engine/train/loss-hook'
import { declaredRegistry, resolveDeclaredParams } from '../recipes/params'
import { benchmarkMetric } from './benchmark-metric'
import { containsAll } from './contains-all'
import { exactMatch } from './exact-match'
import { formatCheck } from './format-check'
import { lengthPenalty } from './length-penalty'
import { numericMatch } from './numeric-match'
import { regexMatch } from './regex-match'
import { RewardSession } from './session'
import { sqlExecutionMatch } from './sql-execution-match'
import { toolCallMatch } from './tool-call-match'
import type { RewardFunction, RewardInput } from './types'

export type * from './types'

const REWARDS: readonly RewardFunction[] = declaredRegistry('rewards', [
  exactMatch,
  numericMatch,
  regexMatch,
  formatCheck,
  containsAll,
  toolCallMatch,
  sqlExecutionMatch,
  lengthPenalty,
  benchmarkMetric
])

export function listRewards(): readonly RewardFunction[] {
  return REWARDS
}

/** A term as written in a spec: which reward, its weight, its parameters (values may be strings). */
export interface RewardTermSpec {
  reward: string
  weight: number
  params?: Readonly<Record<string, unknown>>
}

export interface RewardSpec {
  terms: readonly RewardTermSpec[]
}

/** A term checked against its declaration: the reward itself and every parameter resolved. */
export interface ResolvedRewardTerm {
  reward: RewardFunction
  weight: number
  params: RecipeParams
}

/** A spec the declarations refuse: the caller's mistake, not a failure while scoring. */
export class RewardSpecError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RewardSpecError'
  }
}

/**
 * The spec's terms resolved; throws naming the term (by index and reward) and what is wrong: an
 * unknown reward, a weight that is not finite, a parameter its declaration refuses, or what the
 * reward's own check refuses (a database file that does not exist).
 */
export async function resolveRewardSpec(spec: RewardSpec): Promise<ResolvedRewardTerm[]> {
  if (spec.terms.length === 0) throw new RewardSpecError('rewards: the spec has no terms')
  const resolved: ResolvedRewardTerm[] = []
  for (const [index, term] of spec.terms.entries()) {
    const reward = REWARDS.find((r) => r.name === term.reward)
    if (!reward) {
      throw new RewardSpecError(
        `rewards: term ${index}: unknown reward ${JSON.stringify(term.reward)}; known: ${REWARDS.map((r) => r.name).join(', ')}`
      )
    }
    const owner = `rewards: term ${index} (${reward.name})`
    if (!Number.isFinite(term.weight)) {
      throw new RewardSpecError(`${owner}: weight must be a finite number, got ${term.weight}`)
    }
    let params: RecipeParams
    try {
      params = resolveDeclaredParams(owner, reward.params, term.params ?? {})
      await reward.check?.(params)
    } catch (error) {
      const message = (error as Error).message
      throw new RewardSpecError(message.startsWith(owner) ? message : `${owner}: ${message}`)
    }
    resolved.push({ reward, weight: term.weight, params })
  }
  return resolved
}

/** One row's score under resolved terms, within a session the caller closes. */
export async function scoreWithSpec(
  terms: readonly ResolvedRewardTerm[],
  input: RewardInput,
  session: RewardSession
): Promise<RewardRowScore> {
  const scores: RewardTermScore[] = []
  let total = 0
  for (const term of terms) {
    const { value, reason } = await term.reward.score(input, term.params, session)
    if (!Number.isFinite(value))
      throw new Error(`rewards: ${term.reward.name} gave ${value}, not a finite number`)
    total += term.weight * value
    scores.push({
      reward: term.reward.name,
      weight: term.weight,
      value,
      ...(reason === undefined ? {} : { reason })
    })
  }
  return { total, terms: scores }
}

/** Every row's score under a spec (checked first, so a bad spec scores nothing). */
export async function scoreRows(spec: RewardSpec, rows: readonly RewardInput[]): Promise<RewardRowScore[]> {
  const terms = await resolveRewardSpec(spec)
  const session = new RewardSession()
  try {
    const scores: RewardRowScore[] = []
    for (const row of rows) scores.push(await scoreWithSpec(terms, row, session))
    return scores
  } finally {
    session.close()
  }
}

export { RewardSession }

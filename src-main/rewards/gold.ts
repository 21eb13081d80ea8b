/**
 * Where a reward finds the gold answer: the row's reference, or the metadata key its
 * `reference_key` parameter names (so one dataset can carry several golds, e.g. an answer and a
 * query).
 */
import type { RecipeParams } from '../engine/train/loss-hook'
import type { RecipeParam } from '../recipes/types'
import type { RewardInput } from './types'

export const REFERENCE_KEY_PARAM: RecipeParam = {
  name: 'reference_key',
  type: 'text',
  default: '',
  maxLength: 200,
  description:
    'read the gold answer from this metadata key instead of the row’s reference (empty: the reference)'
}

/** The gold answer as text, or why there is none (a number or boolean in metadata is written out). */
export function goldAnswer(input: RewardInput, params: RecipeParams): { gold: string } | { missing: string } {
  const key = String(params.reference_key ?? '')
  if (key === '')
    return input.reference === null ? { missing: 'the row has no reference' } : { gold: input.reference }
  const value = input.metadata[key]
  if (typeof value === 'string') return { gold: value }
  if (typeof value === 'number' || typeof value === 'boolean') return { gold: String(value) }
  return {
    missing:
      value === undefined
        ? `metadata has no key ${JSON.stringify(key)}`
        : `metadata ${JSON.stringify(key)} is not text: ${JSON.stringify(value)}`
  }
}

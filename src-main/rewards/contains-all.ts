/**
 * contains_all: the share of required words the completion mentions, each as a whole word and
 * case-insensitively — the test of the evaluation room's `mentions_all` metric (eval/tasks/
 * scoring.ts), which scores the story-requests benchmark; here as a share, so a story with the
 * name but not the animal earns half.
 */
import { mentions } from '../eval/tasks/scoring'
import type { RewardFunction } from './types'

/** The words a metadata value requires: a text, or each text of a list. */
function requiredWords(value: unknown): string[] | null {
  if (typeof value === 'string' || typeof value === 'number') return [String(value)]
  if (Array.isArray(value) && value.every((item) => typeof item === 'string' || typeof item === 'number'))
    return value.map(String)
  return null
}

export const containsAll: RewardFunction = {
  name: 'contains_all',
  title: 'Mentions the required words',
  description:
    'The share (0 to 1) of the required words the completion mentions, whole word and case-insensitive; the ' +
    'words are the values of the named metadata keys (a key may hold a list). For story-requests: name, animal.',
  paper: null,
  params: [
    {
      name: 'keys',
      type: 'text',
      default: 'name,animal',
      maxLength: 500,
      description: 'comma-separated metadata keys whose values must be mentioned',
      check: (keys) => {
        if (keys.split(',').some((key) => key.trim() === '')) throw new Error('a key is empty')
      }
    }
  ],
  score(input, params) {
    const words: string[] = []
    for (const key of String(params.keys)
      .split(',')
      .map((k) => k.trim())) {
      const found = requiredWords(input.metadata[key])
      if (found === null)
        return { value: 0, reason: `metadata ${JSON.stringify(key)} is missing or not text` }
      words.push(...found)
    }
    if (words.length === 0) return { value: 0, reason: 'no required words' }
    const missing = words.filter((word) => !mentions(input.completion, word))
    const value = (words.length - missing.length) / words.length
    return missing.length === 0 ? { value } : { value, reason: `does not mention ${missing.join(', ')}` }
  }
}

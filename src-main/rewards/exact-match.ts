import { goldAnswer, REFERENCE_KEY_PARAM } from './gold'
import type { RewardFunction } from './types'

/** The text as compared: optionally trimmed, lower-cased, with whitespace runs made one space. */
function normalised(text: string, trim: boolean, ignoreCase: boolean, collapseWhitespace: boolean): string {
  let result = collapseWhitespace ? text.replace(/\s+/gu, ' ') : text
  if (trim) result = result.trim()
  return ignoreCase ? result.toLowerCase() : result
}

export const exactMatch: RewardFunction = {
  name: 'exact_match',
  title: 'Exact match',
  description:
    '1 when the completion equals the gold answer after the chosen normalisation (trim, case, whitespace runs), else 0.',
  paper: null,
  params: [
    { name: 'trim', type: 'boolean', default: true, description: 'ignore leading and trailing whitespace' },
    { name: 'ignore_case', type: 'boolean', default: false, description: 'compare lower-cased' },
    {
      name: 'collapse_whitespace',
      type: 'boolean',
      default: false,
      description: 'treat every run of whitespace as one space'
    },
    REFERENCE_KEY_PARAM
  ],
  score(input, params) {
    const found = goldAnswer(input, params)
    if ('missing' in found) return { value: 0, reason: found.missing }
    const options = [
      params.trim === true,
      params.ignore_case === true,
      params.collapse_whitespace === true
    ] as const
    return normalised(input.completion, ...options) === normalised(found.gold, ...options)
      ? { value: 1 }
      : { value: 0, reason: 'differs from the gold answer' }
  }
}

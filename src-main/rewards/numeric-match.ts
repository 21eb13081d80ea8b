/**
 * numeric_match: the completion's final number against the gold answer's, within a tolerance.
 *
 * What is read as a number: an optional sign (`-` or `−`), digits with or without thousands commas
 * (`1,234`), a decimal part (`.5`, `2.50`), an exponent (`1e-3`), a fraction `a/b` or
 * `\frac{a}{b}` (also `\dfrac`, `\tfrac`), a leading `$` and a trailing `%` (dropped: `50%` is 50,
 * since gold answers write percentages the way the question asks for them). Units and words around
 * the number are ignored. Anything else (`\sqrt{2}`, `x = 3` in a box with words) is unreadable → 0.
 */
import type { RecipeParams } from '../engine/train/loss-hook'
import { boxedAnswer } from '../eval/tasks/math-answer'
import { goldAnswer, REFERENCE_KEY_PARAM } from './gold'
import type { RewardFunction } from './types'

type Extraction = 'auto' | 'boxed' | 'hashes' | 'last'

/** A number as written in prose: sign, digits (thousands commas), decimals, exponent, optional /denominator. */
const NUMBER_TOKEN =
  /[-−]?\$?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:e[-+]?\d+)?(?:\s*\/\s*\d+(?:\.\d+)?)?%?/giu
const FRAC = /^\\[dt]?frac\{([^{}]+)\}\{([^{}]+)\}$/u

/** The number a short answer writes, or null when it is not one number. */
export function parseNumber(text: string): number | null {
  let s = text
    .trim()
    .replace(/^\\\$|^\$/u, '')
    .replace(/\\?%$/u, '')
    .replace(/^−/u, '-')
    .trim()
  const frac = FRAC.exec(s.replace(/^-/u, ''))
  if (frac) {
    const value = ratio(parseNumber(frac[1]), parseNumber(frac[2]))
    return value === null ? null : s.startsWith('-') ? -value : value
  }
  const slash = s.split('/')
  if (slash.length === 2) return ratio(parseNumber(slash[0]), parseNumber(slash[1]))
  if (/^[-+]?(?:\d{1,3}(?:,\d{3})+)(?:\.\d+)?$/u.test(s)) s = s.replaceAll(',', '')
  if (!/^[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?$/iu.test(s)) return null
  const value = Number(s)
  return Number.isFinite(value) ? value : null
}

function ratio(numerator: number | null, denominator: number | null): number | null {
  if (numerator === null || denominator === null || denominator === 0) return null
  return numerator / denominator
}

/** The number-looking tokens of a text (each with at least one digit), in order. */
function numberTokens(text: string): string[] {
  return (text.match(NUMBER_TOKEN) ?? []).filter((token) => /\d/u.test(token))
}

function lastNumber(text: string): string | null {
  return numberTokens(text).at(-1) ?? null
}

/** The first number after the last `####` (GSM8K's answer line), on that line. */
function hashesAnswer(text: string): string | null {
  const at = text.lastIndexOf('####')
  if (at < 0) return null
  return numberTokens(text.slice(at + 4).split('\n')[0])[0] ?? null
}

/** The answer text the extraction picks, or null (with which places were looked in). */
export function extractAnswer(text: string, extract: Extraction): string | null {
  switch (extract) {
    case 'boxed':
      return boxedAnswer(text)
    case 'hashes':
      return hashesAnswer(text)
    case 'last':
      return lastNumber(text)
    case 'auto':
      return boxedAnswer(text) ?? hashesAnswer(text) ?? lastNumber(text)
  }
}

/** Python's math.isclose: within the relative tolerance of the larger magnitude, or the absolute one. */
function isClose(a: number, b: number, relative: number, absolute: number): boolean {
  return Math.abs(a - b) <= Math.max(relative * Math.max(Math.abs(a), Math.abs(b)), absolute)
}

function readNumber(text: string, extract: Extraction): number | null {
  const answer = extractAnswer(text, extract)
  return answer === null ? null : parseNumber(answer)
}

export const numericMatch: RewardFunction = {
  name: 'numeric_match',
  title: 'Numeric answer match',
  description:
    'The completion’s answer (from \\boxed{…}, “#### N” or the last number) against the gold number: 1 within ' +
    'the tolerance, else 0. Reads signs, thousands commas, decimals, exponents, fractions (a/b, \\frac{a}{b}), ' +
    'a leading $ and a trailing % (50% reads as 50). The gold answer is read the same way (auto).',
  paper: null,
  params: [
    {
      name: 'extract',
      type: 'choice',
      choices: ['auto', 'boxed', 'hashes', 'last'],
      default: 'auto',
      description:
        'where the answer is: the last \\boxed{}, after the last ####, the last number, or the first of these found'
    },
    {
      name: 'relative_tolerance',
      type: 'number',
      default: 1e-6,
      min: 0,
      description: 'equal when within this share of the larger magnitude'
    },
    {
      name: 'absolute_tolerance',
      type: 'number',
      default: 0,
      min: 0,
      description: 'or within this difference'
    },
    REFERENCE_KEY_PARAM
  ],
  score(input, params: RecipeParams) {
    const found = goldAnswer(input, params)
    if ('missing' in found) return { value: 0, reason: found.missing }
    const gold = readNumber(found.gold, 'auto')
    if (gold === null)
      return { value: 0, reason: `the gold answer ${JSON.stringify(found.gold)} is not a number` }
    const extract = params.extract as Extraction
    const answer = readNumber(input.completion, extract)
    if (answer === null) return { value: 0, reason: `no number found (extract: ${extract})` }
    const relative = params.relative_tolerance as number
    const absolute = params.absolute_tolerance as number
    return isClose(answer, gold, relative, absolute)
      ? { value: 1 }
      : { value: 0, reason: `${answer} is not ${gold}` }
  }
}

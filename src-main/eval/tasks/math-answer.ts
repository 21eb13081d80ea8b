/**
 * MATH answers: the last `\boxed{…}` (or `\fbox{…}`) of a solution, and the string normalisation
 * lm-eval's `hendrycks_math` task compares answers with (`strip_string` / `is_equiv`, from the
 * MATH paper's evaluation code). The behaviour follows the reference step by step, including where
 * it gives up: when a step fails on malformed input (a `\frac` or `\sqrt` with nothing after it,
 * two `\text{ ` units, an `a/b` whose parts are not integers), the reference raises and `is_equiv`
 * falls back to comparing the raw strings; so do we.
 *
 * One deliberate difference: the reference finds a last `\fbox{…}` but then fails to unwrap it
 * (it only strips `\boxed{`); we unwrap both.
 */

import { PYTHON_WHITESPACE } from './python-text'

/** A step of the reference raised (IndexError, AssertionError, ValueError): compare raw strings. */
class NormalisationFailed extends Error {}

/** What Python's `int()` accepts: surrounding spaces, a sign, decimal digits with single `_`s between. */
const PYTHON_INT = new RegExp(
  `^[${PYTHON_WHITESPACE}]*[-+]?\\p{Nd}+(?:_\\p{Nd}+)*[${PYTHON_WHITESPACE}]*$`,
  'u'
)
const CANONICAL_INT = /^(?:0|-?[1-9][0-9]*)$/

/**
 * The last `\boxed{…}` or `\fbox{…}` with its braces balanced, or `\boxed <text>` up to the next
 * `$`; null when there is none or its braces never close.
 */
function lastBoxedOnlyString(text: string): string | null {
  if (text.includes('\\boxed ')) {
    const after = text.split('\\boxed ')
    return `\\boxed ${after[after.length - 1].split('$')[0]}`
  }
  let start = text.lastIndexOf('\\boxed')
  if (start < 0) start = text.lastIndexOf('\\fbox')
  if (start < 0) return null
  let open = 0
  for (let i = start; i < text.length; i++) {
    if (text[i] === '{') open++
    if (text[i] === '}') {
      open--
      if (open === 0) return text.slice(start, i + 1)
    }
  }
  return null
}

/** The content of a `\boxed{…}` / `\fbox{…}` / `\boxed …` string; null when it is not one. */
function removeBoxed(boxed: string): string | null {
  if (boxed.includes('\\boxed ')) return boxed.startsWith('\\boxed ') ? boxed.slice('\\boxed '.length) : null
  for (const left of ['\\boxed{', '\\fbox{']) {
    if (boxed.startsWith(left) && boxed.endsWith('}')) return boxed.slice(left.length, -1)
  }
  return null
}

/** The answer inside the last box of a model's output, or null when there is none. */
export function boxedAnswer(text: string): string | null {
  const boxed = lastBoxedOnlyString(text)
  return boxed === null ? null : removeBoxed(boxed)
}

/** Code points, so that "the first character" means what Python's `s[0]` means. */
function characters(text: string): string[] {
  return Array.from(text)
}

/** `\frac12` → `\frac{1}{2}`, `\frac1b` → `\frac{1}{b}`, `\frac1{72}` → `\frac{1}{72}`. */
function fixFracs(text: string): string {
  const parts = text.split('\\frac')
  let result = parts[0]
  for (const part of parts.slice(1)) {
    result += '\\frac'
    const chars = characters(part)
    if (chars.length === 0) throw new NormalisationFailed()
    if (chars[0] === '{') {
      result += part
      continue
    }
    if (chars.length < 2) return text
    const [a, b] = chars
    const rest = chars.slice(2).join('')
    result += b !== '{' ? `{${a}}{${b}}${rest}` : `{${a}}${b}${rest}`
  }
  return result
}

/** Whether Python's `int()` accepts the text (signs, `_` between digits, surrounding spaces). */
function isPythonInt(text: string): boolean {
  return PYTHON_INT.test(text)
}

/**
 * `a/b` with integers a and b becomes `\frac{a}{b}` when written as Python prints them (so
 * `1/2`, not `01/2` or `+1/2`); the reference raises when a part is not an integer at all.
 */
function fixSlash(text: string): string {
  const parts = text.split('/')
  if (parts.length !== 2) return text
  if (!isPythonInt(parts[0]) || !isPythonInt(parts[1])) throw new NormalisationFailed()
  return CANONICAL_INT.test(parts[0]) && CANONICAL_INT.test(parts[1])
    ? `\\frac{${parts[0]}}{${parts[1]}}`
    : text
}

/** Units written as `\text{ …}` on the right are dropped. */
function removeRightUnits(text: string): string {
  if (!text.includes('\\text{ ')) return text
  const parts = text.split('\\text{ ')
  if (parts.length !== 2) throw new NormalisationFailed()
  return parts[0]
}

/** `\sqrt3` → `\sqrt{3}`. */
function fixSqrt(text: string): string {
  if (!text.includes('\\sqrt')) return text
  const parts = text.split('\\sqrt')
  let result = parts[0]
  for (const part of parts.slice(1)) {
    const chars = characters(part)
    if (chars.length === 0) throw new NormalisationFailed()
    result += chars[0] !== '{' ? `\\sqrt{${chars[0]}}${chars.slice(1).join('')}` : `\\sqrt${part}`
  }
  return result
}

/** The reference's `strip_string`; throws NormalisationFailed where the reference raises. */
function stripString(answer: string): string {
  let s = answer.replaceAll('\n', '')
  s = s.replaceAll('\\!', '')
  s = s.replaceAll('\\\\', '\\')
  s = s.replaceAll('tfrac', 'frac').replaceAll('dfrac', 'frac')
  s = s.replaceAll('\\left', '').replaceAll('\\right', '')
  s = s.replaceAll('^{\\circ}', '').replaceAll('^\\circ', '')
  s = s.replaceAll('\\$', '')
  s = removeRightUnits(s)
  s = s.replaceAll('\\%', '')
  s = s.replaceAll(' .', ' 0.').replaceAll('{.', '{0.')
  if (s.length === 0) return s
  if (s[0] === '.') s = `0${s}`
  const sides = s.split('=')
  if (sides.length === 2 && characters(sides[0]).length <= 2) s = sides[1]
  s = fixSqrt(s)
  s = s.replaceAll(' ', '')
  s = fixFracs(s)
  if (s === '0.5') s = '\\frac{1}{2}'
  return fixSlash(s)
}

/** The normalised answer, or null where the reference's normalisation fails on it. */
export function normaliseMathAnswer(answer: string): string | null {
  try {
    return stripString(answer)
  } catch (error) {
    if (error instanceof NormalisationFailed) return null
    throw error
  }
}

/** The reference's `is_equiv`: equal after normalisation, or equal as written when it fails. */
export function mathAnswersEqual(prediction: string, target: string): boolean {
  const a = normaliseMathAnswer(prediction)
  const b = normaliseMathAnswer(target)
  return a === null || b === null ? prediction === target : a === b
}

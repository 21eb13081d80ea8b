/** Python's notions of whitespace and punctuation, where lm-eval's results depend on them. */

/** The characters Python's `str.isspace()` accepts (what `str.strip()` and `re`'s `\s` use). */
export const PYTHON_WHITESPACE =
  '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000'

const EDGE_WHITESPACE = new RegExp(`^[${PYTHON_WHITESPACE}]+|[${PYTHON_WHITESPACE}]+$`, 'g')
const WHITESPACE_RUN = new RegExp(`[${PYTHON_WHITESPACE}]+`)
const LEADING_SPACE = new RegExp(`^[${PYTHON_WHITESPACE}]`)
const TRAILING_SPACE = new RegExp(`[${PYTHON_WHITESPACE}]$`)
/** Python's `string.punctuation`. */
const ASCII_PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g
const ASCII_DIGITS = /[0-9]/g

/** `str.strip()`. */
export function pythonStrip(text: string): string {
  return text.replace(EDGE_WHITESPACE, '')
}

/** `text[0].isspace()` for non-empty text. */
export function startsWithSpace(text: string): boolean {
  return LEADING_SPACE.test(text)
}

/** `text[-1].isspace()` for non-empty text. */
export function endsWithSpace(text: string): boolean {
  return TRAILING_SPACE.test(text)
}

/** `len(re.split(r"\s+", text))`: lm-eval's word count for word_perplexity. */
export function pythonWordCount(text: string): number {
  return text.split(WHITESPACE_RUN).length
}

/** `len(text)`: characters as Python counts them (code points, not UTF-16 units). */
export function pythonLength(text: string): number {
  return Array.from(text).length
}

/** `text.translate` with a table deleting `string.punctuation`. */
export function removePunctuation(text: string): string {
  return text.replace(ASCII_PUNCTUATION, '')
}

/** `text.translate` with a table deleting `string.digits`. */
export function removeDigits(text: string): string {
  return text.replace(ASCII_DIGITS, '')
}

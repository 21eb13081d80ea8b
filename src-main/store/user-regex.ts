/**
 * Regular expressions written by users (the sample filter's `regex`) run in RE2, an engine whose
 * time grows linearly with the text: a backtracking engine such as JavaScript's can spend minutes
 * on one pattern like `(a+)+$` against "aaaa…b", and these patterns run inside SQLite queries on
 * the thread that serves every request. RE2 has no lookaround and no backreferences (they are what
 * needs backtracking); a pattern that uses them is refused with a message that says so.
 */
import { createRequire } from 'node:module'
import type RE2Type from 're2'

// Electron needs an re2 build for its own ABI; `npm run app` compiles one and names it here.
const RE2 = createRequire(import.meta.url)(process.env.FINETUNE_STUDIO_RE2_MODULE ?? 're2') as typeof RE2Type

export type UserRegex = RE2Type

/** The flags a user pattern may carry: ignore case, multiline ^ $, dot matches newline, Unicode. */
export const USER_REGEX_FLAGS = ['i', 'm', 's', 'u'] as const

/** A pattern or flags RE2 cannot run; the message says what is wrong, for "<operation>: <field>: " to prefix. */
export class UserRegexError extends Error {
  override name = 'UserRegexError'
}

const LINEAR_TIME = 'is not supported (patterns run in linear time)'

/** RE2's "invalid perl operator" for each construct that needs backtracking, in words. */
const UNSUPPORTED_GROUPS: Record<string, string> = {
  '(?=': '(?=…) lookahead',
  '(?!': '(?!…) negative lookahead',
  '(?<=': '(?<=…) lookbehind',
  '(?<!': '(?<!…) negative lookbehind',
  '(?>': '(?>…) atomic group'
}

/** RE2's syntax error in words: what JavaScript has that RE2 does not is named as such. */
function describeSyntaxError(message: string): string {
  const operator = /^invalid perl operator: (.*)$/.exec(message)?.[1]
  if (operator !== undefined && UNSUPPORTED_GROUPS[operator])
    return `${UNSUPPORTED_GROUPS[operator]} ${LINEAR_TIME}`
  const escape = /^invalid escape sequence: \\(.)$/.exec(message)?.[1]
  if (escape !== undefined && /[1-9]/.test(escape)) return `\\${escape} backreference ${LINEAR_TIME}`
  if (escape === 'k') return `\\k<…> named backreference ${LINEAR_TIME}`
  const repetition = /^bad repetition operator: (.+\+)$/.exec(message)?.[1]
  if (repetition !== undefined) return `${repetition} possessive quantifier ${LINEAR_TIME}`
  return `invalid regular expression: ${message}`
}

/** Compiles a user's pattern with RE2; throws UserRegexError for flags or syntax it cannot run. */
export function compileUserRegex(pattern: string, flags = ''): UserRegex {
  const unsupported = [...flags].find((flag) => !(USER_REGEX_FLAGS as readonly string[]).includes(flag))
  if (unsupported !== undefined) {
    throw new UserRegexError(
      `flag ${JSON.stringify(unsupported)} is not supported (supported: ${USER_REGEX_FLAGS.join(', ')})`
    )
  }
  try {
    return new RE2(pattern, flags)
  } catch (error) {
    throw new UserRegexError(describeSyntaxError((error as Error).message))
  }
}

/**
 * regex_match: whether the completion matches a user's pattern. Patterns are Python-syntax regular
 * expressions run with RE2 (eval/tasks/python-regex.ts), never JavaScript's RegExp: RE2 matches in
 * time linear in the text, so no pattern can hang training.
 */
import { PythonRegex } from '../eval/tasks/python-regex'
import type { RewardFunction } from './types'

/** The last pattern compiled, kept because a spec scores many completions with one pattern. */
let lastCompiled: PythonRegex | null = null

function regex(source: string): PythonRegex {
  if (lastCompiled?.source !== source) lastCompiled = new PythonRegex(source)
  return lastCompiled
}

/** The pattern anchored at both ends of the text, for `mode: full`. */
function wholeText(source: string): string {
  return `\\A(?:${source})\\Z`
}

export const regexMatch: RewardFunction = {
  name: 'regex_match',
  title: 'Regex match',
  description:
    '1 when the completion matches the pattern (found anywhere, or the whole completion), else 0. Python ' +
    're syntax run with RE2: no look-around or back-references.',
  paper: null,
  params: [
    {
      name: 'pattern',
      type: 'text',
      default: '\\S',
      maxLength: 1000,
      description: 'the regular expression (Python syntax, run with RE2)',
      check: (source) => {
        if (source === '') throw new Error('the pattern is empty')
        void new PythonRegex(wholeText(source))
      }
    },
    {
      name: 'mode',
      type: 'choice',
      choices: ['search', 'full'],
      default: 'search',
      description: 'search: a match anywhere counts; full: the whole completion must match'
    }
  ],
  score(input, params) {
    const source = String(params.pattern)
    const pattern = regex(params.mode === 'full' ? wholeText(source) : source)
    return pattern.findall(input.completion).length > 0
      ? { value: 1 }
      : { value: 0, reason: params.mode === 'full' ? 'the completion does not match as a whole' : 'no match' }
  }
}

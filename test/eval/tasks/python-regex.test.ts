import { describe, expect, it } from 'vitest'
import { PythonRegex } from '../../../src-main/eval/tasks/python-regex'

/** Expected values are Python's `re.findall` / `re.sub` on the same pattern and text (CPython 3.11). */
describe('Python regular expressions on RE2', () => {
  it.each([
    ['#### (\\-?[0-9\\.\\,]+)', 'so #### -1,234.5\n#### 7', ['-1,234.5', '7']],
    [
      '(-?[$0-9.,]{2,})|(-?[0-9]+)',
      'The answer is $1,000. Then 5 and 42.',
      [
        ['$1,000.', ''],
        ['', '5'],
        ['42.', '']
      ]
    ],
    ['x*', 'axxb', ['', 'xx', '', '']],
    [
      '(a)(b)?',
      'a ab',
      [
        ['a', ''],
        ['a', 'b']
      ]
    ],
    ['\\d+\\Z', '12 34', ['34']],
    ['(?P<n>\\w)\\w', 'abc', ['a']],
    ['(?i)ab', 'AB ab', ['AB', 'ab']]
  ])('findall(%j, %j)', (pattern, text, found) => {
    expect(new PythonRegex(pattern).findall(text)).toEqual(found)
  })

  it('removes every match, as re.sub with an empty replacement', () => {
    expect(new PythonRegex('(?s).*#### ').removeAll('a\nb #### 18')).toBe('18')
    expect(new PythonRegex(',').removeAll('1,000,000')).toBe('1000000')
  })

  it('refuses what RE2 cannot run', () => {
    expect(() => new PythonRegex('(?=a)b')).toThrow(/invalid perl operator/)
    expect(() => new PythonRegex('(a)\\1')).toThrow()
  })
})

import { describe, expect, it } from 'vitest'
import { compileUserRegex, UserRegexError } from '../../src-main/store/user-regex'

describe('compileUserRegex', () => {
  it('answers (a+)+$ against a long run of "a" ending in "b" correctly', () => {
    const regex = compileUserRegex('(a+)+$')
    expect(regex.test(`${'a'.repeat(100_000)}b`)).toBe(false)
    expect(regex.test(`b${'a'.repeat(100_000)}`)).toBe(true)
  })

  it.each([
    ['foo(?=bar)', '(?=…) lookahead is not supported (patterns run in linear time)'],
    ['foo(?!bar)', '(?!…) negative lookahead is not supported (patterns run in linear time)'],
    ['(?<=foo)bar', '(?<=…) lookbehind is not supported (patterns run in linear time)'],
    ['(?<!foo)bar', '(?<!…) negative lookbehind is not supported (patterns run in linear time)'],
    ['(?>a+)b', '(?>…) atomic group is not supported (patterns run in linear time)'],
    ['(a)\\1', '\\1 backreference is not supported (patterns run in linear time)'],
    ['(?<x>a)\\k<x>', '\\k<…> named backreference is not supported (patterns run in linear time)'],
    ['a++', '++ possessive quantifier is not supported (patterns run in linear time)'],
    ['(', 'invalid regular expression: missing ): ('],
    ['[z-a]', 'invalid regular expression: invalid character class range: z-a'],
    ['a{1001}', 'invalid regular expression: invalid repetition size: {1001}']
  ])('refuses %s, saying why', (pattern, message) => {
    expect(() => compileUserRegex(pattern)).toThrow(new UserRegexError(message))
  })

  it.each(['g', 'y', 'd', 'v', 'x'])('refuses the flag %s, naming the supported ones', (flag) => {
    expect(() => compileUserRegex('a', `i${flag}`)).toThrow(
      new UserRegexError(`flag "${flag}" is not supported (supported: i, m, s, u)`)
    )
  })

  it('applies the flags i, m, s and u', () => {
    expect(compileUserRegex('PARIS').test('paris')).toBe(false)
    expect(compileUserRegex('PARIS', 'i').test('paris')).toBe(true)
    expect(compileUserRegex('^b$').test('a\nb\nc')).toBe(false)
    expect(compileUserRegex('^b$', 'm').test('a\nb\nc')).toBe(true)
    expect(compileUserRegex('a.b').test('a\nb')).toBe(false)
    expect(compileUserRegex('a.b', 's').test('a\nb')).toBe(true)
    expect(compileUserRegex('^.$', 'u').test('😀')).toBe(true)
    expect(compileUserRegex('\\p{Lu}', 'u').test('É')).toBe(true)
  })
})

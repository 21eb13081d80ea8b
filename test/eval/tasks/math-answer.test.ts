import { describe, expect, it } from 'vitest'
import { boxedAnswer, mathAnswersEqual, normaliseMathAnswer, scoreDoc } from '../../../src-main/eval/tasks'
import { loadBuiltinTask } from './helpers'

/**
 * MATH answers: the last \boxed{…} and lm-eval's hendrycks_math normalisation (strip_string /
 * is_equiv). Expected values are what lm-eval's reference functions return in CPython; null
 * where the reference raises (then is_equiv compares the raw strings).
 */
describe('the answer in the last \\boxed{…}', () => {
  it.each([
    ['So the answer is $\\boxed{\\frac{1}{2}}$.', '\\frac{1}{2}'],
    ['First \\boxed{3}, then corrected: \\boxed{4}.', '4'],
    ['Thus $x = \\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}$', '\\left( 3, \\frac{\\pi}{2} \\right)'],
    ['The answer is \\boxed 5$ done', '5'],
    ['nested \\boxed{\\sqrt{\\frac{a}{b}}} end', '\\sqrt{\\frac{a}{b}}'],
    // The reference finds \fbox but cannot unwrap it (it raises); we unwrap it.
    ['\\fbox{12}', '12'],
    ['unclosed \\boxed{12', null],
    ['no box here: 42', null]
  ])('%j → %j', (text, answer) => {
    expect(boxedAnswer(text)).toBe(answer)
  })
})

describe('MATH answer normalisation (strip_string)', () => {
  it.each([
    ['0.5', '\\frac{1}{2}'],
    ['\\frac12', '\\frac{1}{2}'],
    ['\\dfrac{1}{2}', '\\frac{1}{2}'],
    ['1/2', '\\frac{1}{2}'],
    ['\\tfrac{3}{4}', '\\frac{3}{4}'],
    ['3/4', '\\frac{3}{4}'],
    ['x = 5', '5'],
    ['k=\\frac{1}{2}', '\\frac{1}{2}'],
    ['10\\%', '10'],
    ['90^\\circ', '90'],
    ['90^{\\circ}', '90'],
    ['\\$5', '5'],
    ['5\\text{ cm}', '5'],
    ['\\left( 3, \\frac{\\pi}{2} \\right)', '(3,\\frac{\\pi}{2})'],
    ['(3,\\frac{\\pi}{2})', '(3,\\frac{\\pi}{2})'],
    ['.5', '\\frac{1}{2}'],
    ['\\sqrt2', '\\sqrt{2}'],
    ['\\sqrt{2}', '\\sqrt{2}'],
    ['a/b', null],
    ['\\frac', null],
    ['\\sqrt', null],
    ['1\\text{ m}2\\text{ m}', null],
    ['01/2', '01/2'],
    ['+1/2', '+1/2'],
    [' 0.5', '\\frac{1}{2}'],
    ['\\frac{1}{2}', '\\frac{1}{2}'],
    ['\\!1,\\!000', '1,000'],
    ['2 \\\\ 3', '2\\3'],
    ['-1/2', '\\frac{-1}{2}'],
    ['1/-2', '\\frac{1}{-2}'],
    ['y=2x+1', '2x+1'],
    ['abc = 3', 'abc=3'],
    ['\\frac1{72}', '\\frac{1}{72}'],
    ['5\n', '5'],
    ['', ''],
    ['1/2/3', '1/2/3'],
    ['\\text{(A)}', '\\text{(A)}']
  ])('%j → %j', (answer, normalised) => {
    expect(normaliseMathAnswer(answer)).toBe(normalised)
  })
})

describe('MATH answer equivalence (is_equiv)', () => {
  it.each([
    ['0.5', '\\frac{1}{2}', true],
    ['1/2', '\\frac12', true],
    ['\\dfrac{3}{4}', '3/4', true],
    ['x = 5', '5', true],
    ['10\\%', '10', true],
    ['90^\\circ', '90', true],
    ['5\\text{ cm}', '5', true],
    ['\\left( 3, \\frac{\\pi}{2} \\right)', '(3,\\frac{\\pi}{2})', true],
    ['.5', '0.5', true],
    ['\\sqrt2', '\\sqrt{2}', true],
    ['a/b', 'a/b', true],
    ['a/b', '\\frac{a}{b}', false],
    ['\\frac', '\\frac', true],
    ['01/2', '\\frac{1}{2}', false],
    ['[invalid]', '5', false],
    ['5', '6', false],
    ['2', '2.0', false],
    ['\\$18', '18', true],
    ['1\\text{ m}2\\text{ m}', '1\\text{ m}2\\text{ m}', true]
  ])('%j vs %j → %s', (a, b, equal) => {
    expect(mathAnswersEqual(a, b)).toBe(equal)
  })
})

describe('the built-in math500 task', () => {
  it('scores the boxed answer of a generation with math_equiv', async () => {
    const task = await loadBuiltinTask('math500')
    const doc = task.docs[0]
    expect(doc.answer).toBe('\\left( 3, \\frac{\\pi}{2} \\right)')
    const request = {
      index: 0,
      doc,
      prompt: '',
      fewshot: [],
      target: doc.answer as string,
      request: {
        type: 'generate_until' as const,
        context: '',
        until: [],
        maxGenToks: 1,
        doSample: false,
        temperature: 0
      }
    }
    const right = scoreDoc(task, request, {
      type: 'generate_until',
      text: 'So $(r,\\theta) = \\boxed{(3,\\frac{\\pi}{2})}$.'
    })
    expect(right.results).toEqual([
      { filter: 'boxed', prediction: '(3,\\frac{\\pi}{2})', metrics: { math_equiv: 1 } }
    ])
    const unboxed = scoreDoc(task, request, { type: 'generate_until', text: 'The answer is (3, pi/2).' })
    expect(unboxed.results[0]).toMatchObject({ prediction: '[invalid]', metrics: { math_equiv: 0 } })
  })
})

import { describe, expect, it } from 'vitest'
import { parsePythonLiteral } from '../../../src-main/eval/tasks/python-literal'

/** What `ast.literal_eval` gives for the text a doc_to_choice or doc_to_target template renders. */
describe('Python literals', () => {
  it.each([
    ["['a', \"it's\", 'x\\'y']", ['a', "it's", "x'y"]],
    ['["tab\\there", "\\u00e9\\x41"]', ['tab\there', 'éA']],
    ['[1, -2, 3.5, 1e3, True, False, None]', [1, -2, 3.5, 1000, true, false, null]],
    ["('a', 'b')", ['a', 'b']],
    ["('a',)", ['a']],
    ['(7)', 7],
    ["{'a': [1, 2], 3: 'c'}", { a: [1, 2], 3: 'c' }],
    ['\'ab\' "cd"', 'abcd'],
    ["r'\\d+'", '\\d+'],
    ["'\\q'", '\\q'],
    ['[]', []]
  ])('%s', (text, value) => {
    expect(parsePythonLiteral(text)).toEqual(value)
  })

  it.each(['[1, 2', "['a' 'b'", 'abc', '[1] 2', "'unterminated"])('refuses %s', (text) => {
    expect(() => parsePythonLiteral(text)).toThrow(/not a Python literal/)
  })
})

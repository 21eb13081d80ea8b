import { describe, expect, it } from 'vitest'
import { JsonArraySplitter, type JsonArrayItem } from '../../src-main/datasets/json-array'

function split(text: string, size = text.length || 1): JsonArrayItem[] {
  const splitter = new JsonArraySplitter()
  const items: JsonArrayItem[] = []
  for (let at = 0; at < text.length; at += size) items.push(...splitter.push(text.slice(at, at + size)))
  splitter.end()
  return items
}

describe('JsonArraySplitter', () => {
  const text = '[\n  {"a": "x, ]}\\" y"},\n  {"b": [1, {"c": 2}]},\n  3\n]\n'

  it('yields each item’s text and the line it starts on, whatever the chunking', () => {
    const expected = [
      { line: 2, text: '{"a": "x, ]}\\" y"}' },
      { line: 3, text: '{"b": [1, {"c": 2}]}' },
      { line: 4, text: '3\n' }
    ]
    for (const size of [text.length, 1, 3, 5]) {
      const items = split(text, size)
      expect(items.map((i) => ({ line: i.line, text: i.text.trimEnd() }))).toEqual(
        expected.map((e) => ({ ...e, text: e.text.trimEnd() }))
      )
      expect(items.map((i) => JSON.parse(i.text))).toEqual([{ a: 'x, ]}" y' }, { b: [1, { c: 2 }] }, 3])
    }
  })

  it('accepts an empty array and refuses what is not an array or not closed', () => {
    expect(split('  []  ')).toEqual([])
    expect(() => split('{"a": 1}')).toThrow(/expected a JSON array of rows/)
    expect(() => split('[{"a": 1}, {"b"')).toThrow(/the array is not closed/)
    expect(() => split('[1] 2')).toThrow(/text after the end of the array/)
    expect(() => split('[1,,2]')).toThrow(/expected an array item/)
  })
})

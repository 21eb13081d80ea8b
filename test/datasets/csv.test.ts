import { describe, expect, it } from 'vitest'
import { CsvParser, type CsvRecord } from '../../src-main/datasets/csv'

/** Parses text fed in pieces of `size` characters, so records spanning chunk edges are exercised. */
function parse(text: string, size = text.length || 1, delimiter = ','): CsvRecord[] {
  const parser = new CsvParser(delimiter)
  const records: CsvRecord[] = []
  for (let at = 0; at < text.length; at += size) records.push(...parser.push(text.slice(at, at + size)))
  return [...records, ...parser.end()]
}

describe('CsvParser (RFC 4180)', () => {
  it('splits plain fields and CRLF or LF records, with the line each record starts on', () => {
    expect(parse('a,b\r\n1,2\n3,4')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['1', '2'] },
      { line: 3, fields: ['3', '4'] }
    ])
  })

  it('keeps delimiters, line breaks and doubled quotes inside quoted fields', () => {
    const text = 'q,a\n"one, two","say ""hi""\nand\r\nbye"\nlast,"x"\n'
    const expected = [
      { line: 1, fields: ['q', 'a'] },
      { line: 2, fields: ['one, two', 'say "hi"\nand\r\nbye'] },
      { line: 5, fields: ['last', 'x'] }
    ]
    expect(parse(text)).toEqual(expected)
    // The same records whatever the chunking, including CRLF split between chunks.
    for (const size of [1, 2, 3, 7]) expect(parse(text, size)).toEqual(expected)
  })

  it('keeps empty fields, a byte-order mark off the first name, and tabs as a delimiter', () => {
    expect(parse('\uFEFFa,b,c\n,,\n')).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['', '', ''] }
    ])
    expect(parse('a\tb\n1\t"2\t3"\n', 4, '\t')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['1', '2\t3'] }
    ])
  })

  it('reports a malformed record with its line and goes on at the next line', () => {
    expect(parse('a,b\nx"y,1\n2,3\n"ok"z,4\n5,6')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, error: expect.stringMatching(/quote inside an unquoted field/) },
      { line: 3, fields: ['2', '3'] },
      { line: 4, error: expect.stringMatching(/text after the closing quote/) },
      { line: 5, fields: ['5', '6'] }
    ])
    expect(parse('a\n"never closed\n')).toEqual([
      { line: 1, fields: ['a'] },
      {
        line: 2,
        error:
          'the quote opened at line 2, column 1 is never closed (the rest of the file would be one field)'
      }
    ])
  })

  it('says where an unbalanced quote opened, past quoted line breaks and CRLF, however the text is cut', () => {
    const text = 'q,a\r\n"two\r\nlines",ok\r\nfine,12 "x\r\nx,"ab, cd\r\n'
    for (const size of [1, 2, 5, text.length]) {
      expect(parse(text, size).at(-1)).toEqual({
        line: 5,
        error:
          'the quote opened at line 5, column 3 is never closed (the rest of the file would be one field)'
      })
    }
  })
})

import { describe, expect, it } from 'vitest'
import { InvalidUtf8Tally, Utf8Checker, type InvalidUtf8 } from '../../src-main/datasets/utf8'

/** Checks bytes fed in pieces of `size`, as the reader feeds a file chunk by chunk. */
function check(bytes: Buffer, size = bytes.length || 1): InvalidUtf8 {
  const checker = new Utf8Checker()
  const found: InvalidUtf8 = { count: 0, lines: [] }
  const add = (part: InvalidUtf8) => {
    found.count += part.count
    for (const line of part.lines) if (found.lines.at(-1) !== line) found.lines.push(line)
  }
  for (let at = 0; at < bytes.length; at += size) add(checker.push(bytes.subarray(at, at + size), false))
  add(checker.push(Buffer.alloc(0), true))
  return found
}

/** A pseudo-random byte string of ASCII, lead and continuation bytes (never a literal U+FFFD: no 0xBD). */
function noisyBytes(seed: number, length: number): Buffer {
  const pool = [
    0x61, 0x0a, 0x20, 0x80, 0x9f, 0xa0, 0xbf, 0xc2, 0xc3, 0xdf, 0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5,
    0xff, 0xc0
  ]
  let state = seed
  return Buffer.from(
    Array.from({ length }, () => {
      state = (state * 1103515245 + 12345) % 2 ** 31
      return pool[state % pool.length]
    })
  )
}

describe('Utf8Checker', () => {
  it('finds nothing in UTF-8, however the chunks cut its sequences', () => {
    const text = Buffer.from('héllo\nwörld 😀\n\uFFFD literal\nend', 'utf8')
    for (const size of [1, 2, 3, 5, text.length]) expect(check(text, size)).toEqual({ count: 0, lines: [] })
  })

  it('counts each invalid sequence once, as the decoder replaces it, on the line it is on', () => {
    const bytes = Buffer.concat([
      Buffer.from('ok\ncaf'),
      Buffer.from([0xe9]),
      Buffer.from('\nfine\n'),
      Buffer.from([0xc3, 0x28, 0xe2, 0x82, 0x20, 0xed, 0xa0, 0x80, 0xf0, 0x9f, 0x98])
    ])
    for (const size of [1, 2, 3, bytes.length])
      expect(check(bytes, size)).toEqual({ count: 7, lines: [2, 4] })
  })

  it('agrees with TextDecoder on how many replacements noisy bytes get, whatever the chunking', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const bytes = noisyBytes(seed, 200)
      const replacements = [...new TextDecoder().decode(bytes)].filter((c) => c === '\uFFFD').length
      for (const size of [1, 3, 7, 200]) expect(check(bytes, size).count, `seed ${seed}`).toBe(replacements)
    }
  })
})

describe('InvalidUtf8Tally', () => {
  it('lists the first ten lines, counts the rest, and takes a line cut between chunks once', () => {
    const tally = new InvalidUtf8Tally()
    tally.add({ count: 3, lines: [1, 2, 3] })
    tally.add({ count: 12, lines: [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] })
    expect(tally.warning('a.csv', 'line')).toBe(
      'a.csv: 15 invalid UTF-8 sequences on 13 lines (1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 3 more) were read as ' +
        'U+FFFD (\uFFFD); to keep the original characters, save the file as UTF-8 and import it again'
    )
    expect(new InvalidUtf8Tally().warning('a.csv', 'line')).toBeNull()
  })
})

/**
 * Mixtures and the data-overlap control of pipeline stages (datasets/mixture.ts): sizes, shares,
 * repeats and seeds, and what cannot be given.
 */
import { describe, expect, test } from 'vitest'
import { apportion, chooseOverlap, mixRows, promptKey } from '../../src-main/datasets/mixture'

const rows = (label: string, n: number) => Array.from({ length: n }, (_, i) => `${label}${i}`)

describe('mixRows', () => {
  test('without a size: the largest mixture no source repeats a row for, in the ratios', () => {
    const mix = mixRows(
      [
        { label: 'a', rows: rows('a', 10), ratio: 1 },
        { label: 'b', rows: rows('b', 100), ratio: 4 }
      ],
      7
    )
    expect(mix.taken).toEqual([10, 40])
    expect(new Set(mix.rows).size).toBe(50)
    expect(mix.rows.filter((row) => row.startsWith('a'))).toHaveLength(10)
  })

  test('with a size: a short source repeats in whole shuffled passes; the same seed gives the same rows', () => {
    const sources = [
      { label: 'a', rows: rows('a', 3), ratio: 1 },
      { label: 'b', rows: rows('b', 100), ratio: 1 }
    ]
    const mix = mixRows(sources, 7, 10)
    expect(mix.taken).toEqual([5, 5])
    const fromA = mix.rows.filter((row) => row.startsWith('a'))
    expect(new Set(fromA.slice(0, 3)).size).toBeLessThanOrEqual(3)
    for (const row of rows('a', 3)) expect(fromA).toContain(row)
    expect(mixRows(sources, 7, 10).rows).toEqual(mix.rows)
    expect(mixRows(sources, 8, 10).rows).not.toEqual(mix.rows)
  })

  test('refuses an empty source or a ratio that is not positive, naming the source', () => {
    expect(() => mixRows([{ label: 'version 3', rows: [], ratio: 1 }], 1)).toThrow('version 3 has no rows')
    expect(() => mixRows([{ label: 'version 4', rows: ['x'], ratio: 0 }], 1)).toThrow(
      'version 4: ratio must be a number > 0, got 0'
    )
  })

  test('apportion splits a count into whole numbers by largest remainders', () => {
    expect(apportion([0.75, 0.25], 21)).toEqual([16, 5])
    expect(apportion([1 / 3, 1 / 3, 1 / 3], 10)).toEqual([4, 3, 3])
    expect(apportion([0.5, 0.5], 0)).toEqual([0, 0])
  })
})

describe('chooseOverlap', () => {
  const ask = (content: string) => ({
    messages: [
      { role: 'user', content },
      { role: 'assistant', content: 'x' }
    ]
  })
  const seen = new Set(['p0', 'p1', 'p2', 'p3'].map((p) => promptKey(ask(p))))
  const candidates = ['p0', 'p1', 'p2', 'p3', 'q0', 'q1', 'q2', 'q3', 'q4', 'q5'].map(ask)
  const key = (row: ReturnType<typeof ask>) => promptKey(row)

  test.each([
    [0, 0, 6],
    [0.25, 2, 6],
    [0.5, 4, 4],
    [1, 4, 0]
  ])('share %d: exactly that share of the chosen rows ask a seen prompt', (share, seenCount, unseenCount) => {
    const choice = chooseOverlap(candidates, key, seen, share, 3)
    expect([choice.seen, choice.unseen]).toEqual([seenCount, unseenCount])
    expect(choice.rows.filter((row) => seen.has(key(row)))).toHaveLength(seenCount)
    expect(choice.available).toEqual({ seen: 4, unseen: 6 })
  })

  test('a prompt is what precedes the last answer; the answer does not count', () => {
    expect(promptKey(ask('p0'))).toBe(
      promptKey({
        messages: [
          { role: 'user', content: 'p0' },
          { role: 'assistant', content: 'other' }
        ]
      })
    )
    expect(promptKey({ prompt: 'a' })).not.toBe(promptKey({ text: 'a' }))
  })

  test('says what the data has when the share cannot be given', () => {
    expect(() => chooseOverlap(candidates.slice(0, 4), key, seen, 0, 1)).toThrow(
      'overlap 0 needs rows whose prompts the earlier stages did not train on; of its 4 rows, 4 ask a prompt they trained on and 0 do not'
    )
    expect(() => chooseOverlap(candidates, key, seen, 1.5, 1)).toThrow('overlap must be in [0, 1], got 1.5')
  })
})

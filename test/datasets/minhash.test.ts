import { describe, expect, it } from 'vitest'
import {
  chooseBands,
  estimatedSimilarity,
  MinHasher,
  nearDuplicateGroups,
  shingleHashes
} from '../../src-main/datasets/minhash'

/** Exact Jaccard similarity of two shingle sets. */
function jaccard(a: Set<number>, b: Set<number>): number {
  let common = 0
  for (const x of a) if (b.has(x)) common++
  return common / (a.size + b.size - common)
}

const BASE =
  'the quick brown fox jumps over the lazy dog while the farmer watches from the old wooden fence near the river bank ' +
  'and the children play in the meadow under the bright summer sun until the evening bells ring across the valley'

describe('MinHash near-duplicates', () => {
  it('shingles words case- and punctuation-insensitively', () => {
    expect(shingleHashes('Hello, World! hello world', 2)).toEqual(shingleHashes('hello world hello WORLD', 2))
    expect(shingleHashes('one two three', 2).size).toBe(2)
    expect(shingleHashes('short', 3).size).toBe(1)
    expect(shingleHashes('...', 3).size).toBe(0)
  })

  it('estimates Jaccard similarity within a few percent with 256 hashes', () => {
    const hasher = new MinHasher(256)
    const a = shingleHashes(BASE, 3)
    const b = shingleHashes(BASE.replace('lazy dog', 'sleepy cat').replace('summer sun', 'winter moon'), 3)
    const estimate = estimatedSimilarity(hasher.signature(a), hasher.signature(b))
    expect(Math.abs(estimate - jaccard(a, b))).toBeLessThan(0.08)
  })

  it('picks bands whose S-curve midpoint sits just below the threshold', () => {
    const { bands, rows } = chooseBands(128, 0.8)
    expect(bands * rows).toBeLessThanOrEqual(128)
    const midpoint = (1 / bands) ** (1 / rows)
    expect(midpoint).toBeLessThanOrEqual(0.8)
    expect(midpoint).toBeGreaterThan(0.6)
  })

  it('groups near-duplicates and leaves unrelated texts alone', () => {
    const texts = [
      BASE,
      'a completely different sentence about quantum chromodynamics and lattice gauge theory calculations',
      BASE.replace('evening bells', 'morning bells'),
      BASE.toUpperCase(),
      'a completely different sentence about quantum chromodynamics and lattice gauge theory computations',
      ''
    ]
    const hasher = new MinHasher(128)
    const signatures = texts.map((t) => {
      const shingles = shingleHashes(t, 3)
      return shingles.size > 0 ? hasher.signature(shingles) : null
    })
    const groups = nearDuplicateGroups(signatures, { threshold: 0.7, numHashes: 128 })
    expect(groups.map((g) => g.members)).toEqual([
      [0, 2, 3],
      [1, 4]
    ])
    expect(groups[0].similarity).toBeGreaterThanOrEqual(0.7)
    expect(groups[0].similarity).toBeLessThan(1)
    // A strict threshold keeps only the exact (case-folded) copy.
    expect(nearDuplicateGroups(signatures, { threshold: 1, numHashes: 128 }).map((g) => g.members)).toEqual([
      [0, 3]
    ])
  })
  it('finds a similar pair that shares a bucket with an unrelated first member', () => {
    // 8 hashes at threshold 0.8: 2 bands of 3 rows (positions 0–5). All three share band 0; the
    // pair (1, 2) agrees on 7 of 8 positions but not on all of band 1, and sample 0 is unrelated.
    expect(chooseBands(8, 0.8)).toEqual({ bands: 2, rows: 3 })
    const signatures = [
      [1, 1, 1, 2, 2, 2, 2, 2],
      [1, 1, 1, 5, 6, 7, 8, 9],
      [1, 1, 1, 5, 6, 0, 8, 9]
    ].map((values) => Uint32Array.from(values))
    const groups = nearDuplicateGroups(signatures, { threshold: 0.8, numHashes: 8 })
    expect(groups).toEqual([{ members: [1, 2], similarity: 0.875 }])
  })
})

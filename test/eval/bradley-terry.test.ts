import { describe, expect, it } from 'vitest'
import { fitStrengths, rate, type PairOutcome } from '../../src-main/eval/bradley-terry'

function games(a: string, b: string, winsA: number, winsB: number, draws = 0): PairOutcome[] {
  return [
    ...Array.from({ length: winsA }, () => ({ a, b, scoreA: 1 })),
    ...Array.from({ length: winsB }, () => ({ a, b, scoreA: 0 })),
    ...Array.from({ length: draws }, () => ({ a, b, scoreA: 0.5 }))
  ]
}

describe('Bradley–Terry ratings', () => {
  it('recovers the odds of a pair: 300 wins to 100 is a strength ratio near 3', () => {
    const [x, y] = fitStrengths(['x', 'y'], games('x', 'y', 300, 100))
    // The prior's one virtual draw per player pulls the ratio only slightly towards 1.
    expect(Math.exp(x - y)).toBeGreaterThan(2.9)
    expect(Math.exp(x - y)).toBeLessThan(3)
    expect(x + y).toBeCloseTo(0, 10) // centred
  })

  it('orders a transitive cycle-free league and treats draws as half wins', () => {
    const league = [...games('a', 'b', 8, 2), ...games('b', 'c', 8, 2), ...games('a', 'c', 9, 1)]
    const [a, b, c] = fitStrengths(['a', 'b', 'c'], league)
    expect(a).toBeGreaterThan(b)
    expect(b).toBeGreaterThan(c)
    const [even1, even2] = fitStrengths(['p', 'q'], games('p', 'q', 0, 0, 10))
    expect(even1).toBeCloseTo(even2, 10)
  })

  it('keeps a player with only wins finite, and its interval around the rating', () => {
    const ratings = rate(['champ', 'other'], games('champ', 'other', 5, 0), { seed: 3 })
    const champ = ratings[0]
    expect(Number.isFinite(champ.rating)).toBe(true)
    expect(champ.rating).toBeGreaterThan(1000)
    expect(champ.low).toBeLessThanOrEqual(champ.rating)
    expect(champ.high).toBeGreaterThanOrEqual(champ.rating)
    expect(ratings[0].rating + ratings[1].rating).toBeCloseTo(2000, 6) // mean 1000 on the Elo scale
  })

  it('gives the same intervals for the same seed', () => {
    const league = [...games('a', 'b', 3, 2, 1), ...games('b', 'c', 2, 2)]
    expect(rate(['a', 'b', 'c'], league, { seed: 9 })).toEqual(rate(['a', 'b', 'c'], league, { seed: 9 }))
  })
})

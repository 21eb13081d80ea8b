/** The seeded generator: reference outputs, determinism, state round-trip, shuffles and ranges. */
import { describe, expect, test } from 'vitest'
import { Rng, type RngState } from '../../src-main/engine/rng'

describe('Rng', () => {
  test('xoshiro128** reference outputs from state [1, 2, 3, 4]', () => {
    // Worked out from the reference algorithm (prng.di.unimi.it/xoshiro128starstar.c).
    const rng = Rng.fromState({ algorithm: 'xoshiro128**', words: [1, 2, 3, 4] })
    const outputs = Array.from({ length: 6 }, () => rng.nextUint32())
    expect(outputs).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492])
  })

  test('the same seed gives the same sequence; another seed or stream a different one', () => {
    const draw = (rng: Rng) => Array.from({ length: 8 }, () => rng.nextUint32())
    expect(draw(Rng.fromSeed(42))).toEqual(draw(Rng.fromSeed(42)))
    expect(draw(Rng.fromSeed(42))).not.toEqual(draw(Rng.fromSeed(43)))
    expect(draw(Rng.fromSeed(42, 0))).not.toEqual(draw(Rng.fromSeed(42, 1)))
    // seeds above 2³² use their high bits too
    expect(draw(Rng.fromSeed(2 ** 32 + 5))).not.toEqual(draw(Rng.fromSeed(5)))
  })

  test('a saved state resumes exactly where the generator was, through JSON', () => {
    const rng = Rng.fromSeed(7)
    for (let i = 0; i < 100; i++) rng.float()
    const saved = JSON.parse(JSON.stringify(rng.state())) as RngState
    const continued = Array.from({ length: 20 }, () => rng.float())
    const resumed = Rng.fromState(saved)
    expect(Array.from({ length: 20 }, () => resumed.float())).toEqual(continued)
  })

  test('state() is a snapshot, not a live view', () => {
    const rng = Rng.fromSeed(1)
    const before = rng.state()
    rng.nextUint32()
    expect(rng.state()).not.toEqual(before)
    expect(Rng.fromState(before).nextUint32()).toBe(Rng.fromSeed(1).nextUint32())
  })

  test('float() stays in [0, 1) and averages ½; uniform() maps onto its range', () => {
    const rng = Rng.fromSeed(3)
    const draws = Array.from({ length: 20000 }, () => rng.float())
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...draws)).toBeLessThan(1)
    expect(draws.reduce((s, x) => s + x, 0) / draws.length).toBeCloseTo(0.5, 1)
    const u = Array.from({ length: 1000 }, () => rng.uniform(-2, 3))
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-2)
    expect(Math.max(...u)).toBeLessThan(3)
  })

  test('int(n) covers [0, n) evenly', () => {
    const rng = Rng.fromSeed(11)
    const counts = new Array(6).fill(0)
    for (let i = 0; i < 60000; i++) counts[rng.int(6)]++
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(500)
  })

  test('shuffle is a seeded permutation', () => {
    const items = Array.from({ length: 50 }, (_, i) => i)
    const a = Rng.fromSeed(5).shuffle([...items])
    expect(a).toEqual(Rng.fromSeed(5).shuffle([...items]))
    expect(a).not.toEqual(items)
    expect([...a].sort((x, y) => x - y)).toEqual(items)
    expect(Rng.fromSeed(6).shuffle([...items])).not.toEqual(a)
  })

  test('every position is equally likely after a shuffle', () => {
    const rng = Rng.fromSeed(9)
    const firstCounts = [0, 0, 0, 0]
    for (let i = 0; i < 8000; i++) firstCounts[rng.shuffle([0, 1, 2, 3])[0]]++
    for (const c of firstCounts) expect(Math.abs(c - 2000)).toBeLessThan(200)
  })

  test('bad seeds and states are refused', () => {
    expect(() => Rng.fromSeed(-1)).toThrow(/non-negative safe integers, got -1/)
    expect(() => Rng.fromSeed(1.5)).toThrow(/got 1.5/)
    expect(() => Rng.fromState({ algorithm: 'xoshiro128**', words: [0, 0, 0, 0] })).toThrow(/all-zero/)
    expect(() => Rng.fromState({ algorithm: 'pcg32', words: [1, 2, 3, 4] } as unknown as RngState)).toThrow(
      /expected \{algorithm: "xoshiro128\*\*"/
    )
    expect(() => Rng.fromState({ algorithm: 'xoshiro128**', words: [1, 2, 3, 2 ** 32] })).toThrow(
      /not a uint32/
    )
  })
})

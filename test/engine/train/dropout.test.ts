/** The in-graph hash dropout: its rate, scale and determinism. */
import { describe, expect, it } from 'vitest'
import { GraphBuilder } from '../../../src-main/engine/graph/index'
import { createSession, hostTensor } from '../../../src-main/engine/runtime/session'
import { dropoutStepSeed, hashDropout } from '../../../src-main/engine/train/dropout'

const ROWS = 400
const COLUMNS = 50

async function masks(p: number, seeds: readonly number[], salts: readonly number[]): Promise<Float32Array[]> {
  const g = new GraphBuilder('dropout')
  const x = g.input('x', 'float32', ['rows', COLUMNS])
  const seed = g.input('seed', 'int64', [])
  salts.forEach((salt, i) => g.output(hashDropout(x, p, seed, salt), `y${i}`))
  const session = await createSession(g.toBytes(), { intraOpThreads: 1 })
  const ones = hostTensor('float32', [ROWS, COLUMNS], new Float32Array(ROWS * COLUMNS).fill(1))
  const results: Float32Array[] = []
  for (const s of seeds) {
    const out = await session.run({ x: ones, seed: hostTensor('int64', [], BigInt64Array.of(BigInt(s))) })
    salts.forEach((_, i) => results.push(out[`y${i}`].data as Float32Array))
  }
  await session.release()
  return results
}

function agreement(a: Float32Array, b: Float32Array): number {
  let same = 0
  for (let i = 0; i < a.length; i++) if ((a[i] === 0) === (b[i] === 0)) same++
  return same / a.length
}

describe('hashDropout', () => {
  it('drops a fraction p and scales the rest by 1/(1 − p)', async () => {
    const [y] = await masks(0.3, [12345], [0])
    const dropped = y.filter((v) => v === 0).length / y.length
    expect(Math.abs(dropped - 0.3)).toBeLessThan(0.015) // 20 000 draws: 4.6 standard deviations
    expect(new Set(y.filter((v) => v !== 0))).toEqual(new Set([Math.fround(1 / 0.7)]))
  })

  it('is a function of (seed, salt): the same inputs give the same mask, others an independent one', async () => {
    const [a0, a1, again0, again1] = await masks(0.5, [7, 7], [0, 1])
    expect(again0).toEqual(a0)
    expect(again1).toEqual(a1)
    const [otherSeed] = await masks(0.5, [8], [0])
    // independent masks at p = 0.5 agree on about half the elements
    expect(Math.abs(agreement(a0, a1) - 0.5)).toBeLessThan(0.02)
    expect(Math.abs(agreement(a0, otherSeed) - 0.5)).toBeLessThan(0.02)
  })

  it('step seeds depend on (seed, step, micro-batch) only', () => {
    expect(dropoutStepSeed(1, 5, 0)).toBe(dropoutStepSeed(1, 5, 0))
    const seeds = new Set([
      dropoutStepSeed(1, 5, 0),
      dropoutStepSeed(1, 6, 0),
      dropoutStepSeed(1, 5, 1),
      dropoutStepSeed(2, 5, 0)
    ])
    expect(seeds.size).toBe(4)
  })
})

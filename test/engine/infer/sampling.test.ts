import { describe, expect, it } from 'vitest'
import {
  argmax,
  candidateDistribution,
  samplingEntropy,
  sampleToken,
  seededRandom
} from '../../../src-main/engine/infer/sampling'

describe('seededRandom', () => {
  it('gives the same stream for a seed and another for another seed, in [0, 1)', () => {
    const a = Array.from({ length: 5 }, seededRandom(42))
    const b = Array.from({ length: 5 }, seededRandom(42))
    const c = Array.from({ length: 5 }, seededRandom(43))
    expect(b).toEqual(a)
    expect(c).not.toEqual(a)
    const random = seededRandom(1)
    let sum = 0
    for (let i = 0; i < 20000; i++) {
      const u = random()
      expect(u >= 0 && u < 1).toBe(true)
      sum += u
    }
    expect(sum / 20000).toBeCloseTo(0.5, 1)
  })

  it('refuses a seed that is not a non-negative integer', () => {
    expect(() => seededRandom(1.5)).toThrow(/must be non-negative safe integers, got 1.5/)
  })
})

describe('choosing the next token', () => {
  const logits = [1, 4, 2, 3.5, -1]

  it('temperature 0 is argmax, first index on ties', () => {
    expect(sampleToken(logits, { temperature: 0 }, () => 0.99)).toBe(1)
    expect(argmax([2, 5, 5])).toBe(1)
  })

  it('top-k keeps the k most likely tokens, renormalised', () => {
    const { tokens, probs } = candidateDistribution(logits, { temperature: 1, topK: 2 })
    expect(tokens).toEqual([1, 3])
    const e = [Math.exp(4), Math.exp(3.5)]
    expect(probs[0]).toBeCloseTo(e[0] / (e[0] + e[1]), 12)
    expect(probs[0] + probs[1]).toBeCloseTo(1, 12)
  })

  it('top-p keeps the smallest most-likely set whose mass reaches p', () => {
    const full = candidateDistribution(logits, { temperature: 1 })
    expect(full.tokens).toEqual([1, 3, 2, 0, 4])
    const p01 = full.probs[0] + full.probs[1]
    expect(candidateDistribution(logits, { temperature: 1, topP: p01 - 1e-9 }).tokens).toEqual([1, 3])
    expect(candidateDistribution(logits, { temperature: 1, topP: p01 + 1e-9 }).tokens).toEqual([1, 3, 2])
    expect(candidateDistribution(logits, { temperature: 1, topP: 1e-9 }).tokens).toEqual([1])
  })

  it('temperature sharpens or flattens the distribution', () => {
    const cold = candidateDistribution(logits, { temperature: 0.25 }).probs[0]
    const warm = candidateDistribution(logits, { temperature: 4 }).probs[0]
    expect(cold).toBeGreaterThan(0.85)
    expect(warm).toBeLessThan(0.35)
  })

  it('draws tokens with their probabilities, never outside top-k', () => {
    const random = seededRandom(5)
    const counts = new Map<number, number>()
    for (let i = 0; i < 4000; i++) {
      const token = sampleToken(logits, { temperature: 1, topK: 3 }, random)
      counts.set(token, (counts.get(token) ?? 0) + 1)
    }
    expect([...counts.keys()].sort()).toEqual([1, 2, 3])
    const { probs } = candidateDistribution(logits, { temperature: 1, topK: 3 })
    expect(counts.get(1)! / 4000).toBeCloseTo(probs[0], 1)
  })

  it('refuses invalid settings', () => {
    expect(() => sampleToken(logits, { temperature: -1 }, Math.random)).toThrow(
      /temperature must be ≥ 0, got -1/
    )
    expect(() => sampleToken(logits, { temperature: 1, topP: 0 }, Math.random)).toThrow(
      /top-p must be in \(0, 1\], got 0/
    )
    expect(() => sampleToken(logits, { temperature: 1, topK: 1.5 }, Math.random)).toThrow(
      /top-k must be a whole number/
    )
  })

  it('sorts only the likely tokens, giving what sorting the whole vocabulary gives', () => {
    /** The distribution as defined: every token sorted, cut to top-k, then to the nucleus. */
    function sortedReference(values: Float32Array, temperature: number, topK: number, topP: number) {
      const order = Array.from(values.keys()).sort((a, b) => values[b] - values[a] || a - b)
      const kept = topK > 0 ? order.slice(0, topK) : order
      const weights = kept.map((t) => Math.exp((values[t] - values[kept[0]]) / temperature))
      const total = weights.reduce((a, b) => a + b, 0)
      let mass = 0
      let count = 0
      while (count < weights.length && mass < topP * total) mass += weights[count++]
      return { tokens: kept.slice(0, count), probs: weights.slice(0, count).map((w) => w / mass) }
    }
    const random = seededRandom(9)
    for (const [temperature, topK, topP] of [
      [1, 0, 0.9],
      [0.7, 40, 1],
      [1.3, 5, 0.5],
      [1, 0, 0.999999]
    ]) {
      const values = Float32Array.from({ length: 30_000 }, () => (random() - 0.5) * 30)
      const ours = candidateDistribution(values, { temperature, topK, topP })
      const expected = sortedReference(values, temperature, topK, topP)
      expect(ours.tokens).toEqual(expected.tokens)
      ours.probs.forEach((p, i) => expect(p).toBeCloseTo(expected.probs[i], 12))
    }
  })

  it('draws from the whole softmax without truncation, each token with its probability', () => {
    const random = seededRandom(3)
    const counts = new Map<number, number>()
    for (let i = 0; i < 8000; i++) {
      const token = sampleToken(logits, { temperature: 1 }, random)
      counts.set(token, (counts.get(token) ?? 0) + 1)
    }
    const { tokens, probs } = candidateDistribution(logits, { temperature: 1 })
    tokens.forEach((token, i) => expect((counts.get(token) ?? 0) / 8000).toBeCloseTo(probs[i], 1))
  })

  it('gives the entropy of what sampling at a temperature draws from', () => {
    expect(samplingEntropy([2, 2, 2, 2], 1)).toBeCloseTo(Math.log(4), 12)
    expect(samplingEntropy([2, 2, 2, 2], 0.3)).toBeCloseTo(Math.log(4), 12)
    expect(samplingEntropy([1, 4, 2, 3.5, -1], 0)).toBe(0)
    const probs = [1, 4, 2].map((l) => Math.exp(l / 0.5))
    const z = probs.reduce((a, b) => a + b, 0)
    const expected = -probs.reduce((h, w) => h + (w / z) * Math.log(w / z), 0)
    expect(samplingEntropy([1, 4, 2], 0.5)).toBeCloseTo(expected, 12)
    // Colder is more certain.
    expect(samplingEntropy([1, 4, 2], 0.5)).toBeLessThan(samplingEntropy([1, 4, 2], 2))
  })
})

/**
 * Seeded train/validation/test splits. The same samples, seed and ratios always give the same
 * assignment: samples are taken in id order, shuffled with a seeded generator, and cut by the
 * ratios (largest remainders get the rounding, so counts add up exactly). Stratified by tag, each
 * stratum (samples sharing their first tag in sorted order; untagged samples form one stratum) is
 * split on its own, so every tag keeps the ratios.
 */
import type { Split } from '../../src-preload/contract'
import { Rng } from '../engine/rng'

export interface SplitRatios {
  train: number
  validation: number
  test: number
}

export const SPLITS: readonly Split[] = ['train', 'validation', 'test']

/** How many of n items each split gets: floor of the share, the remainder to the largest fractions. */
export function splitCounts(n: number, ratios: SplitRatios): Record<Split, number> {
  const total = ratios.train + ratios.validation + ratios.test
  if (!(total > 0)) throw new Error(`splitCounts: ratios must add up to more than 0, got ${total}`)
  const exact = SPLITS.map((split) => (n * ratios[split]) / total)
  const counts = exact.map(Math.floor)
  let left = n - counts.reduce((a, b) => a + b, 0)
  const byFraction = SPLITS.map((_, i) => i).sort(
    (a, b) => exact[b] - counts[b] - (exact[a] - counts[a]) || a - b
  )
  for (const i of byFraction) {
    if (left === 0) break
    counts[i]++
    left--
  }
  return { train: counts[0], validation: counts[1], test: counts[2] }
}

/** 32-bit FNV-1a of a string's UTF-16 units: a stable stream id per stratum. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
  return hash >>> 0
}

function shuffle<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[items[i], items[j]] = [items[j], items[i]]
  }
  return items
}

/**
 * The split of every sample; `samples` may come in any order.
 */
export function assignSplits(
  samples: readonly { id: number; tags: readonly string[] }[],
  options: { seed: number; ratios: SplitRatios; stratifyByTag: boolean }
): Map<number, Split> {
  const strata = new Map<string, number[]>()
  for (const sample of [...samples].sort((a, b) => a.id - b.id)) {
    const key = options.stratifyByTag ? ([...sample.tags].sort()[0] ?? '') : ''
    const list = strata.get(key) ?? []
    list.push(sample.id)
    strata.set(key, list)
  }
  const result = new Map<number, Split>()
  // Each stratum draws from its own stream, named by its tag, so a new tag elsewhere leaves it be.
  for (const [key, list] of strata) {
    const ids = shuffle(list, Rng.fromSeed(options.seed, fnv1a(key)))
    const counts = splitCounts(ids.length, options.ratios)
    let at = 0
    for (const split of SPLITS) {
      for (const id of ids.slice(at, at + counts[split])) result.set(id, split)
      at += counts[split]
    }
  }
  return result
}

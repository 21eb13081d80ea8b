import { describe, expect, it } from 'vitest'
import { assignSplits, splitCounts } from '../../src-main/datasets/splits'

const RATIOS = { train: 0.8, validation: 0.1, test: 0.1 }

function samples(n: number, tagOf: (i: number) => string[] = () => []) {
  return Array.from({ length: n }, (_, i) => ({ id: i + 1, tags: tagOf(i) }))
}

function count(assignment: Map<number, string>, ids?: number[]) {
  const counts: Record<string, number> = { train: 0, validation: 0, test: 0 }
  for (const [id, split] of assignment) if (!ids || ids.includes(id)) counts[split]++
  return counts
}

describe('seeded splits', () => {
  it('cuts counts by the ratios, remainders to the largest fractions, adding up exactly', () => {
    expect(splitCounts(10, RATIOS)).toEqual({ train: 8, validation: 1, test: 1 })
    expect(splitCounts(7, { train: 1 / 3, validation: 1 / 3, test: 1 / 3 })).toEqual({
      train: 3,
      validation: 2,
      test: 2
    })
    expect(splitCounts(0, RATIOS)).toEqual({ train: 0, validation: 0, test: 0 })
  })

  it('gives the same assignment for the same seed, whatever the input order, and another for another seed', () => {
    const list = samples(100)
    const a = assignSplits(list, { seed: 7, ratios: RATIOS, stratifyByTag: false })
    const b = assignSplits([...list].reverse(), { seed: 7, ratios: RATIOS, stratifyByTag: false })
    const c = assignSplits(list, { seed: 8, ratios: RATIOS, stratifyByTag: false })
    expect([...a.entries()].sort()).toEqual([...b.entries()].sort())
    expect([...a.entries()].sort()).not.toEqual([...c.entries()].sort())
    expect(count(a)).toEqual({ train: 80, validation: 10, test: 10 })
  })

  it('keeps the ratios within every tag when stratified', () => {
    // 20 "rare" samples would easily miss validation by chance without stratification.
    const list = samples(120, (i) => (i < 20 ? ['rare'] : ['common']))
    const rare = list.filter((s) => s.tags[0] === 'rare').map((s) => s.id)
    const common = list.filter((s) => s.tags[0] === 'common').map((s) => s.id)
    const assignment = assignSplits(list, { seed: 1, ratios: RATIOS, stratifyByTag: true })
    expect(count(assignment, rare)).toEqual({ train: 16, validation: 2, test: 2 })
    expect(count(assignment, common)).toEqual({ train: 80, validation: 10, test: 10 })
  })
})

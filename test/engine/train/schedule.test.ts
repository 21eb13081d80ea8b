/** Learning-rate schedules against values worked out by hand from the transformers formulas. */
import { describe, expect, test } from 'vitest'
import { learningRateAt, type LrSchedule } from '../../../src-main/engine/train/schedule'

const base = { baseLr: 1e-3, warmupSteps: 4, totalSteps: 12 }
const rates = (schedule: LrSchedule, steps: number) =>
  Array.from({ length: steps }, (_, k) => learningRateAt(schedule, k))

describe('learningRateAt', () => {
  test('warmup climbs linearly from 0 (the first update has lr 0, as in transformers)', () => {
    for (const kind of ['constant', 'linear', 'cosine'] as const) {
      expect(rates({ ...base, kind }, 4)).toEqual([0, 0.25e-3, 0.5e-3, 0.75e-3])
    }
  })

  test('constant: the base rate after warmup, forever', () => {
    expect(rates({ ...base, kind: 'constant' }, 20).slice(4)).toEqual(new Array(16).fill(1e-3))
  })

  test('linear: (T − k)/(T − W) after warmup, reaching 0 at T and staying there', () => {
    const lr = rates({ ...base, kind: 'linear' }, 14)
    const expected = [8, 7, 6, 5, 4, 3, 2, 1, 0, 0].map((n) => (1e-3 * n) / 8)
    lr.slice(4).forEach((value, i) => expect(value).toBeCloseTo(expected[i], 15))
  })

  test('cosine (half cycle): 1, cos² descent, ½ at the midpoint, 0 at T', () => {
    const lr = rates({ ...base, kind: 'cosine' }, 13)
    expect(lr[4]).toBe(1e-3)
    expect(lr[8]).toBeCloseTo(0.5e-3, 15) // progress ½: ½(1 + cos(π/2))
    expect(lr[6]).toBeCloseTo(1e-3 * 0.5 * (1 + Math.SQRT1_2), 15) // progress ¼: ½(1 + cos(π/4))
    expect(lr[12]).toBeCloseTo(0, 15)
    for (let k = 5; k <= 12; k++) expect(lr[k]).toBeLessThan(lr[k - 1])
  })

  test('cosine with a full cycle comes back up to the base rate', () => {
    const schedule: LrSchedule = { ...base, kind: 'cosine', numCycles: 1 }
    expect(learningRateAt(schedule, 8)).toBeCloseTo(0, 15)
    expect(learningRateAt(schedule, 12)).toBeCloseTo(1e-3, 15)
  })

  test('no warmup: the first update already has the base rate', () => {
    expect(learningRateAt({ kind: 'linear', baseLr: 2e-5, warmupSteps: 0, totalSteps: 10 }, 0)).toBe(2e-5)
    expect(learningRateAt({ kind: 'cosine', baseLr: 2e-5, warmupSteps: 0, totalSteps: 10 }, 0)).toBe(2e-5)
  })

  test('invalid settings name the offending value', () => {
    expect(() => learningRateAt({ ...base, kind: 'step' as 'linear' }, 0)).toThrow(/unknown scheduler "step"/)
    expect(() => learningRateAt({ ...base, kind: 'linear', warmupSteps: -1 }, 0)).toThrow(/warmupSteps.*-1/)
    expect(() => learningRateAt({ ...base, kind: 'linear' }, 1.5)).toThrow(/step.*1.5/)
  })
})

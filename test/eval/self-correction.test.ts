import { describe, expect, it } from 'vitest'
import { selfCorrectionScores } from '../../src-main/eval/self-correction'
import type { DocScore } from '../../src-main/eval/tasks'

const score = (index: number, correct: boolean): DocScore => ({ index, correct, results: [] })

describe('self-correction decomposition (Confidence v.s. Critique)', () => {
  it('splits the second accuracy into confidence and critique, and computes RSS as the paper does', () => {
    // 10 documents: 6 right first (5 stay right, 1 turns wrong), 4 wrong first (1 turns right).
    const before = [true, true, true, true, true, true, false, false, false, false]
    const after = [true, true, true, true, true, false, true, false, false, false]
    const s = selfCorrectionScores(
      before.map((c, i) => score(i, c)),
      after.map((c, i) => score(i, c))
    )
    expect(s.acc_before.value).toBeCloseTo(0.6, 12)
    expect(s.acc_after.value).toBeCloseTo(0.6, 12)
    expect(s.confidence.value).toBeCloseTo(5 / 6, 12)
    expect(s.critique.value).toBeCloseTo(1 / 4, 12)
    // acc_after = acc_before · CL + (1 − acc_before) · CS
    expect(0.6 * (5 / 6) + 0.4 * 0.25).toBeCloseTo(s.acc_after.value, 12)
    expect(s.rss.value).toBeCloseTo((0.6 - 0.36) / (2 * 0.6 * 0.4), 12)
    // Binomial standard error of a mean of 0/1 values: sqrt(p(1 − p) / (n − 1)).
    expect(s.acc_before.stderr).toBeCloseTo(Math.sqrt((0.6 * 0.4) / 9), 12)
  })

  it('leaves out what is undefined: critique and rss when every first answer was right', () => {
    const s = selfCorrectionScores([score(0, true), score(1, true)], [score(0, true), score(1, false)])
    expect(s.confidence.value).toBe(0.5)
    expect(Object.keys(s).sort()).toEqual(['acc_after', 'acc_before', 'confidence'])
  })
})

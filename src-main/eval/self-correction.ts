/**
 * The decomposition of self-correction of "Confidence v.s. Critique: A Decomposition of
 * Self-Correction Capability for LLMs" (Yang et al., ACL 2025), from each document's correctness
 * before (first answer) and after (the answer after the review prompt), one answer each:
 *
 * - acc_before, acc_after: the share of right answers before and after the review;
 * - confidence (the paper's CL): of the answers right before, the share still right after;
 * - critique (CS): of the answers wrong before, the share right after;
 *   so acc_after = acc_before · confidence + (1 − acc_before) · critique;
 * - rss, the paper's relative self-correction score, an overall figure that can compare models of
 *   different first-answer accuracy: (acc_after − acc_before²) / (2 · acc_before · (1 − acc_before)),
 *   as the authors' released analysis computes it.
 *
 * Standard errors: binomial for the shares (sample stdev over √n, as for any mean here); none for
 * rss. A figure that is not defined on these documents is left out: critique when every first
 * answer was right, confidence when none was, rss when either holds.
 */
import type { MetricScore } from '../../src-preload/contract'
import type { DocScore } from './tasks'

function share(flags: readonly boolean[]): MetricScore | null {
  const n = flags.length
  if (n === 0) return null
  const value = flags.filter(Boolean).length / n
  const stderr = n < 2 ? null : Math.sqrt((value * (1 - value) * n) / (n - 1) / n)
  return { value, stderr, higherIsBetter: true }
}

export function selfCorrectionScores(
  before: readonly DocScore[],
  after: readonly DocScore[]
): Record<string, MetricScore> {
  const pairs = before.map((score, i) => [score.correct === true, after[i].correct === true] as const)
  const scores: Record<string, MetricScore | null> = {
    acc_before: share(pairs.map(([first]) => first)),
    acc_after: share(pairs.map(([, second]) => second)),
    confidence: share(pairs.filter(([first]) => first).map(([, second]) => second)),
    critique: share(pairs.filter(([first]) => !first).map(([, second]) => second))
  }
  const a1 = scores.acc_before?.value
  const a2 = scores.acc_after?.value
  if (a1 !== undefined && a2 !== undefined && a1 > 0 && a1 < 1) {
    scores.rss = { value: (a2 - a1 * a1) / (2 * a1 * (1 - a1)), stderr: null, higherIsBetter: true }
  }
  return Object.fromEntries(Object.entries(scores).filter(([, score]) => score !== null)) as Record<
    string,
    MetricScore
  >
}

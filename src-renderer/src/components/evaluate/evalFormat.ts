/** How the evaluation room words and colours scores, metrics and answers. */
import type {
  EvalAnswer,
  EvalItemChange,
  EvalOutputType,
  EvaluationSummary,
  MetricScore
} from '../../../../src-preload/contract'
import { formatNumber } from '../../format'

/** How a task asks the model, in words. */
export const OUTPUT_TYPE_LABELS: Record<EvalOutputType, string> = {
  multiple_choice: 'multiple choice',
  generate_until: 'generation',
  loglikelihood: 'log-likelihood',
  loglikelihood_rolling: 'perplexity'
}

/** The self-correction decomposition's metrics, in the order the paper reports them. */
export const SELF_CORRECTION_METRICS: readonly { key: string; label: string; hint?: string }[] = [
  { key: 'acc_before', label: 'Accuracy before review' },
  { key: 'acc_after', label: 'Accuracy after review' },
  { key: 'confidence', label: 'Confidence', hint: 'right answers kept right' },
  { key: 'critique', label: 'Critique', hint: 'wrong answers turned right' },
  { key: 'rss', label: 'Relative self-correction score', hint: 'overall, comparable across accuracies' }
]

/**
 * lm-eval names a metric `metric,filter`: `acc,none` reads "acc", `exact_match,strict-match`
 * reads "exact_match (strict-match)".
 */
export function evalMetricLabel(key: string): string {
  const [metric, filter] = key.split(',', 2)
  return filter === undefined || filter === 'none' ? metric : `${metric} (${filter})`
}

/**
 * A share over no documents (critique when every first answer was right) has no value: the store
 * sends it as null (JSON has no NaN).
 */
function hasValue(value: number | null): value is number {
  return value !== null && Number.isFinite(value)
}

/** "0.4 ± 0.2452"; "n/a" for a metric without a value; the ± part only where there is a stderr. */
export function formatScore(score: Pick<MetricScore, 'value' | 'stderr'> | undefined): string {
  if (!score || !hasValue(score.value)) return 'n/a'
  const value = formatNumber(score.value)
  return hasValue(score.stderr) ? `${value} ± ${formatNumber(score.stderr)}` : value
}

/** The headline metric of an evaluation as it reads in a list: "acc 0.4 ± 0.2452". */
export function headlineScore(evaluation: EvaluationSummary): string {
  const key = evaluation.primaryMetric
  if (evaluation.kind === 'self_correction') {
    const { acc_before: before, acc_after: after } = evaluation.scores
    if (before && after) return `accuracy ${formatScore(before)} → ${formatScore(after)}`
  }
  if (key === null || !evaluation.scores[key]) return '—'
  return `${evalMetricLabel(key)} ${formatScore(evaluation.scores[key])}`
}

/**
 * Where each value stands among its column, 0 (worst) to 1 (best), following the metric's
 * direction; null where there is nothing to tell apart (one value, or all equal).
 */
export function columnStanding(
  values: readonly (number | null)[],
  higherIsBetter: boolean
): (number | null)[] {
  const present = values.filter(hasValue)
  const low = Math.min(...present)
  const high = Math.max(...present)
  return values.map((value) => {
    if (!hasValue(value) || !(high > low)) return null
    const t = (value - low) / (high - low)
    return higherIsBetter ? t : 1 - t
  })
}

/** A pale background from red (worst of the column) to green (best); none without a standing. */
export function standingShade(standing: number | null): string | undefined {
  if (standing === null) return undefined
  const hue = Math.round(standing * 130)
  return `hsl(${hue}, 62%, 88%)`
}

/** Words for how an answer changed between two evaluations (or before and after a review). */
export const CHANGE_LABELS: Record<EvalItemChange, string> = {
  improved: 'wrong → right',
  regressed: 'right → wrong',
  both_correct: 'right both times',
  both_wrong: 'wrong both times'
}

/** How the answer changed from `before` to `after`; null where either has no right or wrong. */
export function answerChange(before: EvalAnswer, after: EvalAnswer): EvalItemChange | null {
  if (before.correct === null || after.correct === null) return null
  if (before.correct && after.correct) return 'both_correct'
  if (before.correct) return 'regressed'
  if (after.correct) return 'improved'
  return 'both_wrong'
}

/**
 * Two evaluations as an item diff reads them, "from A to B": the base model before any checkpoint,
 * an earlier checkpoint before a later one, so that "wrong → right" is what training fixed.
 */
export function diffOrder(x: EvaluationSummary, y: EvaluationSummary): [number, number] {
  const rank = (evaluation: EvaluationSummary) => evaluation.step ?? -1
  const xFirst = rank(x) < rank(y) || (rank(x) === rank(y) && x.id < y.id)
  return xFirst ? [x.id, y.id] : [y.id, x.id]
}

/** The index of the target among the choices: by its text, else (a bare number) by position. */
export function targetChoiceIndex(choices: readonly string[], target: string): number | null {
  const byText = choices.indexOf(target)
  if (byText >= 0) return byText
  const index = /^\d+$/.test(target) ? Number(target) : -1
  return index < choices.length && index >= 0 ? index : null
}

/** "11–20 of 57": the rows a page shows. */
export function pageRange(offset: number, shown: number, total: number): string {
  if (total === 0) return 'none'
  return `${formatNumber(offset + 1)}–${formatNumber(offset + shown)} of ${formatNumber(total)}`
}

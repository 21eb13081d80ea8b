/**
 * Aggregating per-document metric values into a task's metrics, and member tasks' metrics into a
 * group's, with standard errors as lm-eval computes them (lm_eval/api/metrics.py):
 *
 * - mean metrics: the mean, and the sample standard deviation over √n;
 * - perplexity: exp(−mean log-likelihood), with a bootstrap standard error;
 * - word_perplexity / byte_perplexity: exp(−Σ log-likelihood / Σ words or bytes), and
 *   bits_per_byte: −Σ log-likelihood / Σ bytes / ln 2. lm-eval reports no standard error for these
 *   ("N/A"); we give the same seeded bootstrap as for perplexity, so every metric has one.
 *
 * The bootstrap is lm-eval's, draw for draw: resamples in chunks of 1000, chunk i drawn with
 * Python's `Random(i).choices`, and the sample standard deviation of the resampled statistics.
 * A single document has no standard error (lm-eval's "N/A", our null).
 *
 * A group's metric is the mean of its tasks' values, weighted by their sizes unless
 * `weight_by_size: false`, with the pooled standard error; "N/A" when any member's is.
 */
import { METRICS } from './config'
import { PythonRandom } from './python-random'
import type { DocScore, LoadedTask, MetricAggregate, MetricName, MetricValue, TaskGroup } from './types'

/** lm-eval's default --bootstrap_iters. */
export const DEFAULT_BOOTSTRAP_ITERS = 100_000

export interface AggregateOptions {
  /** Resamples for bootstrapped standard errors (lm-eval's --bootstrap_iters); 0 gives none. */
  bootstrapIters?: number
}

type Statistic = (values: readonly MetricValue[]) => number

function mean(values: readonly number[]): number {
  let sum = 0
  for (const value of values) sum += value
  return sum / values.length
}

function sampleStddev(values: readonly number[]): number {
  const mu = mean(values)
  let sum = 0
  for (const value of values) sum += (value - mu) ** 2
  return Math.sqrt(sum / (values.length - 1))
}

function weightedMean(values: readonly MetricValue[]): number {
  let numerator = 0
  let denominator = 0
  for (const value of values) {
    const [a, b] = value as readonly [number, number]
    numerator += a
    denominator += b
  }
  return numerator / denominator
}

const STATISTICS: Record<string, Statistic> = {
  mean: (values) => mean(values as number[]),
  perplexity: (values) => Math.exp(-mean(values as number[])),
  weighted_perplexity: (values) => Math.exp(-weightedMean(values)),
  bits_per_byte: (values) => -weightedMean(values) / Math.LN2
}

function bootstrapStderr(statistic: Statistic, values: readonly MetricValue[], iters: number): number {
  const chunk = Math.min(1000, iters)
  const replicates: number[] = []
  for (let i = 0; i < Math.floor(iters / chunk); i++) {
    const rng = new PythonRandom(i)
    for (let j = 0; j < chunk; j++) replicates.push(statistic(rng.choices(values, values.length)))
  }
  return sampleStddev(replicates)
}

function stderrOf(aggregation: string, values: readonly MetricValue[], iters: number): number | null {
  if (values.length < 2) return null
  if (aggregation === 'mean') return sampleStddev(values as number[]) / Math.sqrt(values.length)
  return iters > 0 ? bootstrapStderr(STATISTICS[aggregation], values, iters) : null
}

/** The key lm-eval reports a metric under: "metric,filter". */
export function metricKey(metric: string, filter: string): string {
  return `${metric},${filter}`
}

/** A task's metrics over the scored documents, keyed "metric,filter". */
export function aggregate(
  task: LoadedTask,
  scores: readonly DocScore[],
  options: AggregateOptions = {}
): Record<string, MetricAggregate> {
  if (scores.length === 0) throw new Error(`aggregate: task ${task.name} has no scored documents`)
  const iters = options.bootstrapIters ?? DEFAULT_BOOTSTRAP_ITERS
  const result: Record<string, MetricAggregate> = {}
  for (const [f, filter] of scores[0].results.map((r) => r.filter).entries()) {
    for (const spec of task.config.metrics) {
      const values = scores.map((score) => score.results[f].metrics[spec.metric])
      const { aggregation } = METRICS[spec.metric as MetricName]
      result[metricKey(spec.metric, filter)] = {
        metric: spec.metric,
        filter,
        value: STATISTICS[aggregation](values),
        stderr: stderrOf(aggregation, values, iters),
        higherIsBetter: spec.higherIsBetter,
        samples: values.length
      }
    }
  }
  return result
}

/** lm-eval's pooled_sample_stderr. */
function pooledStderr(stderrs: readonly number[], sizes: readonly number[]): number {
  const total = sizes.reduce((a, b) => a + b, 0)
  let pooled = 0
  sizes.forEach((size, i) => (pooled += (size - 1) * stderrs[i] ** 2 * size))
  return Math.sqrt(pooled / (total - sizes.length) / total)
}

/**
 * A group's metrics from its member tasks' (keyed by task name, as `aggregate` returns them),
 * keyed "metric,filter".
 */
export function aggregateGroup(
  group: TaskGroup,
  perTask: Readonly<Record<string, Readonly<Record<string, MetricAggregate>>>>
): Record<string, MetricAggregate> {
  const result: Record<string, MetricAggregate> = {}
  for (const spec of group.aggregates) {
    const members = group.tasks.map((task) => perTask[task.name]).filter((metrics) => metrics !== undefined)
    const filters = spec.filters ?? [
      ...new Set(
        members.flatMap((metrics) =>
          Object.values(metrics)
            .filter((m) => m.metric === spec.metric)
            .map((m) => m.filter)
        )
      )
    ]
    for (const filter of filters) {
      const found = members
        .map((metrics) => metrics[metricKey(spec.metric, filter)])
        .filter((m) => m !== undefined)
      if (found.length === 0) continue
      const sizes = found.map((m) => m.samples)
      const weights = spec.weightBySize ? sizes : sizes.map(() => 1)
      const value =
        found.reduce((sum, m, i) => sum + m.value * weights[i], 0) / weights.reduce((a, b) => a + b, 0)
      const stderrs = found.map((m) => m.stderr)
      result[metricKey(spec.metric, filter)] = {
        metric: spec.metric,
        filter,
        value,
        stderr: stderrs.every((s) => s !== null) ? pooledStderr(stderrs as number[], sizes) : null,
        higherIsBetter: found[0].higherIsBetter,
        samples: sizes.reduce((a, b) => a + b, 0)
      }
    }
  }
  return result
}

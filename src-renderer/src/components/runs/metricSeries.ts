import type { MetricPoint } from '../../../../src-preload/contract'
import { parseBenchmarkMetric } from '../../../../src-preload/metric-names'
import { evalMetricLabel } from '../evaluate/evalFormat'

/**
 * Metric points keyed by name, each line in step order with one value per step. Adding points for
 * a step that is already there replaces its value: a resumed run retrains steps after its last
 * checkpoint, and a catch-up fetch may return points already received.
 */
export class MetricLines {
  private readonly byName = new Map<string, Map<number, number>>()

  add(points: readonly MetricPoint[]): void {
    for (const { name, step, value } of points) {
      let line = this.byName.get(name)
      if (!line) {
        line = new Map()
        this.byName.set(name, line)
      }
      line.set(step, value)
    }
  }

  names(): string[] {
    return [...this.byName.keys()]
  }

  /** [step, value] pairs in step order; empty for an unknown name. */
  line(name: string): [number, number][] {
    const line = this.byName.get(name)
    if (!line) return []
    return [...line].sort((a, b) => a[0] - b[0])
  }

  /** The highest step of any metric, -1 when there is none. */
  lastStep(): number {
    let last = -1
    for (const line of this.byName.values()) for (const step of line.keys()) last = Math.max(last, step)
    return last
  }

  pointCount(name: string): number {
    return this.byName.get(name)?.size ?? 0
  }
}

/**
 * Labels for the metric names runs record (recipe metrics appear as recipe/<name>, benchmarks as
 * eval/<task>/<metric key>).
 */
export const METRIC_LABELS: Record<string, string> = {
  loss: 'Training loss',
  eval_loss: 'Validation loss',
  lr: 'Learning rate',
  grad_norm: 'Gradient norm',
  tokens_per_s: 'Tokens / s'
}

export function metricLabel(name: string): string {
  const benchmark = parseBenchmarkMetric(name)
  return benchmark ? `${benchmark.task}: ${evalMetricLabel(benchmark.metric)}` : (METRIC_LABELS[name] ?? name)
}

/** The benchmark metrics among `names` (eval/<task>/<metric key>), in name order. */
export function benchmarkMetricNames(names: readonly string[]): string[] {
  return names.filter((name) => parseBenchmarkMetric(name) !== null).sort()
}

/**
 * The whole [0, 1] range for a line of fractions (accuracies, exact-match rates), so that a change
 * shows at its true size instead of filling the chart; undefined (fit to the data) otherwise.
 */
export function fractionRange(points: readonly [number, number][]): [number, number] | undefined {
  return points.length > 0 && points.every(([, value]) => value >= 0 && value <= 1) ? [0, 1] : undefined
}

/** How a run records its recipe's own metrics (api/run-training.ts): `recipe/<the recipe's name for it>`. */
const RECIPE_METRIC_PREFIX = 'recipe/'

/** One chart of recipe metrics: the metrics whose names share a group. */
export interface RecipeMetricGroup {
  /** `rewards` for recipe/rewards/margins; the whole name for a name without a slash (recipe/kl). */
  group: string
  /** Full metric names with the part after the group as their label, in name order. */
  metrics: { name: string; label: string }[]
}

/**
 * Metrics of one prefix whose scales differ by orders of magnitude, charted apart: a rollout's
 * throughput (thousands of tokens/s) would flatten its sampling temperature and entropy (about 1).
 */
const GROUP_OF: Readonly<Record<string, string>> = {
  'rollout/tokens': 'rollout throughput',
  'rollout/tokens_per_s': 'rollout throughput',
  'rollout/temperature': 'rollout sampling',
  'rollout/entropy': 'rollout sampling'
}

/**
 * The recipe metrics among `names`, by group (the part of the name before its last slash, as TRL
 * groups rewards/chosen, rewards/rejected, rewards/margins, rewards/accuracies), in group order.
 */
export function recipeMetricGroups(names: readonly string[]): RecipeMetricGroup[] {
  const groups = new Map<string, RecipeMetricGroup['metrics']>()
  for (const name of [...names].sort()) {
    if (!name.startsWith(RECIPE_METRIC_PREFIX)) continue
    const own = name.slice(RECIPE_METRIC_PREFIX.length)
    const slash = own.lastIndexOf('/')
    const group = GROUP_OF[own] ?? (slash < 0 ? own : own.slice(0, slash))
    const metrics = groups.get(group) ?? []
    metrics.push({ name, label: slash < 0 ? own : own.slice(slash + 1) })
    groups.set(group, metrics)
  }
  return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([group, metrics]) => ({ group, metrics }))
}

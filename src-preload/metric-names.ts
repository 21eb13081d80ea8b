/**
 * Run metric names that both sides build: the main process records benchmark results under them
 * and the renderer asks for them by name. Kept apart from contract/ so the renderer does not
 * bundle zod.
 */
export const BENCHMARK_METRIC_PREFIX = 'eval/'

/** The run metric a benchmark evaluated during training records at its checkpoint's step. */
export function benchmarkMetricName(task: string, metric: string): string {
  return `${BENCHMARK_METRIC_PREFIX}${task}/${metric}`
}

/** The task and metric key of a benchmark metric's name; null for any other metric. */
export function parseBenchmarkMetric(name: string): { task: string; metric: string } | null {
  if (!name.startsWith(BENCHMARK_METRIC_PREFIX)) return null
  // Metric keys (`acc,none`) hold no slash; a task file's name might.
  const slash = name.lastIndexOf('/')
  if (slash < BENCHMARK_METRIC_PREFIX.length) return null
  return { task: name.slice(BENCHMARK_METRIC_PREFIX.length, slash), metric: name.slice(slash + 1) }
}

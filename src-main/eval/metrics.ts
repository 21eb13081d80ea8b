/** Benchmark metrics: each scores one completion in [0, 1] in a way a person can check by reading it. */

export interface MetricSpec {
  kind: 'mentions-all'
  /** Item fields whose values must all appear in the completion. */
  fields: string[]
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Whole word, case-insensitive: "cat" matches "The cat sat" but not "catch". */
export function mentions(text: string, word: string): boolean {
  return new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRegExp(word)}($|[^\\p{L}\\p{N}])`, 'iu').test(text)
}

export function scoreCompletion(
  metric: MetricSpec,
  completion: string,
  item: Record<string, string>
): number {
  switch (metric.kind) {
    case 'mentions-all':
      return metric.fields.every((field) => mentions(completion, item[field])) ? 1 : 0
  }
}

import type { MetricPoint } from '../../../../src-preload/contract'

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

/** Labels for the metric names runs record (recipe metrics appear as recipe/<name>). */
export const METRIC_LABELS: Record<string, string> = {
  loss: 'Training loss',
  eval_loss: 'Validation loss',
  lr: 'Learning rate',
  grad_norm: 'Gradient norm',
  tokens_per_s: 'Tokens / s'
}

export function metricLabel(name: string): string {
  return METRIC_LABELS[name] ?? name
}

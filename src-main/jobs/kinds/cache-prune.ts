/**
 * Keeps the graph cache (converted weights, compiled graphs) in check: a door submits this job when
 * it opens, so the work of walking and deleting gigabytes never holds up its start.
 */
import { pruneCache, type PruneResult } from '../../engine/cache'
import type { JobKind } from '../protocol'

export const CACHE_PRUNE_JOB = 'cache.prune'

export interface CachePruneInput {
  cacheDir: string
  /** Defaults: engine/cache.ts. */
  maxBytes?: number
  maxAgeDays?: number
}

export const cachePruneJob: JobKind<CachePruneInput, PruneResult> = {
  kind: CACHE_PRUNE_JOB,
  summary: 'Remove converted weights and compiled graphs that were not used for a while',
  async run({ cacheDir, maxBytes, maxAgeDays }, ctx) {
    const result = pruneCache(cacheDir, { maxBytes, maxAgeDays })
    const finished = result.finishedLeftovers.length
    ctx.log(
      'info',
      `graph cache ${cacheDir}: removed ${result.removed.length} entries` +
        (finished > 0 ? ` and ${finished} leftovers of interrupted removals` : '') +
        `, freed ${result.freedBytes} bytes, ${result.remainingBytes} bytes left`
    )
    return result
  }
}

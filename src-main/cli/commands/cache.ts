/**
 * `cache list` and `cache prune`: the store's graph cache (converted weights, compiled graphs), seen
 * and trimmed by hand. The app and the server prune it in the background when they open.
 */
import { relative } from 'node:path'
import {
  DEFAULT_CACHE_MAX_AGE_DAYS,
  DEFAULT_CACHE_MAX_BYTES,
  listCacheEntries,
  pruneCache,
  type CacheEntry
} from '../../engine/cache'
import { graphCacheDir } from '../../store/location'
import { JSON_OPTION, type Command } from '../command'
import { formatBytes, formatTable } from '../format'
import { storeDirFor } from '../session'
import { optionalNumber } from './engine-job'

const GIB = 1024 ** 3

export const cacheListCommand: Command = {
  words: ['cache', 'list'],
  summary: 'List the converted weights and compiled graphs in the store, with sizes and last use.',
  options: { json: JSON_OPTION },
  async run(args, io) {
    const cacheDir = graphCacheDir(storeDirFor(args))
    const entries = groupedByFolder(listCacheEntries(cacheDir))
    const totalBytes = entries.reduce((sum, entry) => sum + entry.bytes, 0)
    if (args.values.json) {
      return io.out(JSON.stringify({ cacheDir, totalBytes, entries: entries.map(entryJson) }, null, 2))
    }
    if (entries.length === 0) return io.out(`the graph cache ${cacheDir} is empty`)
    const now = Date.now()
    io.out(
      formatTable(entries, [
        { header: 'KIND', value: (e) => e.kind },
        { header: 'SIZE', value: (e) => formatBytes(e.bytes) },
        { header: 'LAST USED', value: (e) => ageText(now - e.lastUsedAt) },
        { header: 'PATH', value: (e) => relative(cacheDir, e.path) }
      ])
    )
    io.out(`total ${formatBytes(totalBytes)} in ${entries.length} entries under ${cacheDir}`)
  }
}

export const cachePruneCommand: Command = {
  words: ['cache', 'prune'],
  summary: 'Remove cache entries not used for a while, then the least recently used over the size limit.',
  details:
    'Entries used in the last hour are always kept: a run may be using them. A removed entry is\n' +
    'converted or compiled again the next time it is needed.',
  options: {
    'max-gb': {
      type: 'string',
      valueName: 'N',
      description: `keep at most N GiB (default ${DEFAULT_CACHE_MAX_BYTES / GIB})`
    },
    'max-age-days': {
      type: 'string',
      valueName: 'N',
      description: `remove what was not used for N days (default ${DEFAULT_CACHE_MAX_AGE_DAYS})`
    },
    json: JSON_OPTION
  },
  async run(args, io) {
    const maxGb = optionalNumber(args, 'max-gb', { min: 0 })
    const maxAgeDays = optionalNumber(args, 'max-age-days', { min: 0 })
    const cacheDir = graphCacheDir(storeDirFor(args))
    const result = pruneCache(cacheDir, {
      maxBytes: maxGb === undefined ? undefined : maxGb * GIB,
      maxAgeDays
    })
    if (args.values.json) {
      return io.out(JSON.stringify({ cacheDir, ...result, removed: result.removed.map(entryJson) }, null, 2))
    }
    for (const entry of result.removed) {
      io.out(`removed ${entry.kind} ${relative(cacheDir, entry.path)} (${formatBytes(entry.bytes)})`)
    }
    const leftovers = result.finishedLeftovers.length
    io.out(
      `freed ${formatBytes(result.freedBytes)} (${result.removed.length} entries` +
        (leftovers > 0 ? `, ${leftovers} interrupted removals finished` : '') +
        `); ${formatBytes(result.remainingBytes)} left in ${cacheDir}`
    )
  }
}

export const cacheCommands: Command[] = [cacheListCommand, cachePruneCommand]

/** Folders most recently used first, each followed by its graphs, most recently used first. */
function groupedByFolder(entries: readonly CacheEntry[]): CacheEntry[] {
  const newestFirst = [...entries].sort((a, b) => b.lastUsedAt - a.lastUsedAt)
  return newestFirst
    .filter((entry) => entry.kind === 'weights')
    .flatMap((folder) => [
      folder,
      ...newestFirst.filter((entry) => entry.kind !== 'weights' && entry.weightsDir === folder.path)
    ])
}

function entryJson(entry: CacheEntry) {
  return {
    kind: entry.kind,
    path: entry.path,
    bytes: entry.bytes,
    lastUsed: new Date(entry.lastUsedAt).toISOString()
  }
}

function ageText(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000))
  if (minutes < 60) return `${minutes} min ago`
  const hours = Math.floor(minutes / 60)
  if (hours < 48) return `${hours} h ago`
  return `${Math.floor(hours / 24)} d ago`
}

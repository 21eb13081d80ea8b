/**
 * The graph cache: weights converted once per model (models/weights.ts) and the graphs compiled
 * over them (models/compiled-graph.ts for inference, train/compile-step.ts for training). Layout:
 *
 *   <cacheDir>/<weights key>/            one folder per model (+ merged adapter) and weights format
 *     weights.bin, weights.json          the converted weights; weights.json is written last
 *     last-used                          an empty marker whose mtime is the folder's last use
 *     train-<kind>-<key>.onnx            step graphs, keyed by a hash of the code and the spec
 *     <kind>-<hash>.onnx                 inference graphs, named after the hash of their bytes
 *     .<name>.<pid>.<random>.tmp         a write in progress (temp + rename), or one a killed process left
 *   <cacheDir>/.removing-<key>-…         a weights folder being removed by pruneCache
 *
 * Every entry is found again by a path computed from its inputs, never by listing, so removing one
 * only means that its next use converts or compiles again. A graph references weights.bin as
 * external data and must sit in its folder, so a weights folder always goes with all its graphs.
 * Engine code records each use (recordCacheUse); pruneCache removes what has not been used for a
 * while, or the least recently used entries once the cache outgrows its budget.
 */
import { randomBytes } from 'node:crypto'
import { readdirSync, renameSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { basename, join, resolve, sep } from 'node:path'

export type CacheEntryKind = 'weights' | 'step-graph' | 'inference-graph'

export interface CacheEntry {
  kind: CacheEntryKind
  /** The weights folder, or the graph file. */
  path: string
  /** A weights folder's own files, its graphs excluded (they are entries of their own). */
  bytes: number
  /** Milliseconds since the epoch. A weights folder was last used no earlier than any of its graphs. */
  lastUsedAt: number
  /** The weights folder the entry belongs to: its own path for a weights entry. */
  weightsDir: string
}

export interface PruneOptions {
  /** Remove least recently used entries until the cache holds at most this much; default 20 GiB. */
  maxBytes?: number
  /** Remove every entry not used for longer than this; default 30 days. */
  maxAgeDays?: number
  /** The current time in milliseconds since the epoch; default Date.now(). */
  now?: number
  /** Entries at, inside or containing these paths are kept. */
  protect?: readonly string[]
}

export interface PruneResult {
  /** Least recently used first; a removed weights folder is followed by the graphs that went with it. */
  removed: CacheEntry[]
  /** The bytes of the removed entries and of the finished leftovers. */
  freedBytes: number
  /** What the cache still holds. */
  remainingBytes: number
  /** Leftovers of removals that a killed process did not finish, deleted now. */
  finishedLeftovers: string[]
}

export const DEFAULT_CACHE_MAX_BYTES = 20 * 1024 ** 3
export const DEFAULT_CACHE_MAX_AGE_DAYS = 30
/**
 * An entry used this recently is never removed: a run or an inference job may be using it right
 * now (it may still open graphs in the folder or compile new ones there). A training program marks
 * its folder at every step (graph-step-program.ts), so a long run stays inside this window.
 */
export const RECENT_USE_MS = 60 * 60 * 1000

const LAST_USED_FILE = 'last-used'
const GRAPH_EXTENSION = '.onnx'
const STEP_GRAPH_PREFIX = 'train-'
/** A weights folder renamed for removal; listings skip it (they skip every hidden name). */
const REMOVING_PREFIX = '.removing-'
const DAY_MS = 24 * 60 * 60 * 1000

/**
 * Records that a cache entry was used just now: a graph file (`.onnx`) gets its own mtime set, a
 * weights folder its `last-used` marker's (created on first use). One syscall, cheap enough to call
 * on every lookup and every training step.
 */
export function recordCacheUse(entryPath: string): void {
  const isGraph = entryPath.endsWith(GRAPH_EXTENSION)
  const stamp = isGraph ? entryPath : join(entryPath, LAST_USED_FILE)
  const now = new Date()
  try {
    utimesSync(stamp, now, now)
    return
  } catch (error) {
    const missing = errorCode(error) === 'ENOENT'
    // A graph that vanished is not recreated empty: opening it right after fails with its path.
    if (missing && isGraph) return
    if (!missing) throw new Error(`recordCacheUse: cannot mark ${stamp} as used: ${(error as Error).message}`)
  }
  try {
    writeFileSync(stamp, '')
  } catch (error) {
    throw new Error(`recordCacheUse: cannot create ${stamp}: ${(error as Error).message}`)
  }
}

/** Every entry under `cacheDir` (none when it does not exist), removals in progress left out. */
export function listCacheEntries(cacheDir: string): CacheEntry[] {
  const root = resolve(cacheDir)
  const entries: CacheEntry[] = []
  for (const name of namesIn(root)) {
    if (name.startsWith('.')) continue
    const folder = join(root, name)
    if (!statOrNull(folder)?.isDirectory()) continue
    const weights = weightsFolderEntries(folder)
    if (weights) entries.push(...weights)
  }
  return entries
}

/**
 * Finishes interrupted removals, then removes every entry unused for longer than maxAgeDays and,
 * least recently used first, more until the cache holds at most maxBytes. Never removes an entry
 * used within RECENT_USE_MS or one that `protect` names.
 */
export function pruneCache(cacheDir: string, options: PruneOptions = {}): PruneResult {
  const maxBytes = options.maxBytes ?? DEFAULT_CACHE_MAX_BYTES
  const maxAgeDays = options.maxAgeDays ?? DEFAULT_CACHE_MAX_AGE_DAYS
  if (!(maxBytes >= 0)) throw new Error(`pruneCache: maxBytes must be a number ≥ 0, got ${maxBytes}`)
  if (!(maxAgeDays >= 0)) throw new Error(`pruneCache: maxAgeDays must be a number ≥ 0, got ${maxAgeDays}`)
  const now = options.now ?? Date.now()
  const protectedPaths = (options.protect ?? []).map((path) => resolve(path))
  const root = resolve(cacheDir)

  const finished = finishRemovals(root)
  const result: PruneResult = {
    removed: [],
    freedBytes: finished.bytes,
    remainingBytes: 0,
    finishedLeftovers: finished.paths
  }
  const entries = listCacheEntries(root)
  let total = entries.reduce((sum, entry) => sum + entry.bytes, 0)
  const removedPaths = new Set<string>()
  const isProtected = (path: string) =>
    protectedPaths.some((kept) => isInside(path, kept) || isInside(kept, path))

  for (const entry of byLeastRecentUse(entries)) {
    if (removedPaths.has(entry.path)) continue
    const stale = now - entry.lastUsedAt > maxAgeDays * DAY_MS
    // Sorted oldest first: once an entry is neither stale nor needed for space, no later one is.
    if (!stale && total <= maxBytes) break
    if (now - entry.lastUsedAt < RECENT_USE_MS || isProtected(entry.path)) continue
    const removedHere =
      entry.kind === 'weights' ? removeWeightsFolder(root, entry.path) : removeGraph(entry.path)
    // A folder takes the graphs compiled over it along (normally none are left: they sort first).
    const graphsWithIt = entries.filter(
      (other) =>
        entry.kind === 'weights' &&
        other.kind !== 'weights' &&
        other.weightsDir === entry.path &&
        !removedPaths.has(other.path)
    )
    for (const gone of [entry, ...graphsWithIt]) {
      removedPaths.add(gone.path)
      total -= gone.bytes
      // Gone already: another process pruned it first, and reports it.
      if (!removedHere) continue
      result.removed.push(gone)
      result.freedBytes += gone.bytes
    }
  }
  result.remainingBytes = total
  return result
}

/** A weights folder and its graphs as entries; null when the folder vanished while being read. */
function weightsFolderEntries(folder: string): CacheEntry[] | null {
  let names: string[]
  try {
    names = readdirSync(folder)
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null
    throw error
  }
  const weights: CacheEntry = { kind: 'weights', path: folder, bytes: 0, lastUsedAt: 0, weightsDir: folder }
  const graphs: CacheEntry[] = []
  for (const name of names) {
    const path = join(folder, name)
    const stat = statOrNull(path)
    if (!stat) continue
    if (stat.isFile() && name.endsWith(GRAPH_EXTENSION) && !name.startsWith('.')) {
      graphs.push({
        kind: name.startsWith(STEP_GRAPH_PREFIX) ? 'step-graph' : 'inference-graph',
        path,
        bytes: stat.size,
        lastUsedAt: stat.mtimeMs,
        weightsDir: folder
      })
    } else {
      // The marker, the weights, and temp files of writes in progress (whose mtime moves while
      // they grow, which keeps a folder being converted recent).
      const tree = treeUsage(path)
      weights.bytes += tree.bytes
      weights.lastUsedAt = Math.max(weights.lastUsedAt, tree.newestMs)
    }
  }
  for (const graph of graphs) weights.lastUsedAt = Math.max(weights.lastUsedAt, graph.lastUsedAt)
  // An empty folder (made just before a conversion starts) counts from its creation.
  if (names.length === 0) weights.lastUsedAt = statOrNull(folder)?.mtimeMs ?? 0
  return [weights, ...graphs]
}

/** Oldest first; on a tie a graph before its folder, so a folder never goes before its graphs. */
function byLeastRecentUse(entries: readonly CacheEntry[]): CacheEntry[] {
  const rank = (entry: CacheEntry) => (entry.kind === 'weights' ? 1 : 0)
  return [...entries].sort((a, b) => a.lastUsedAt - b.lastUsedAt || rank(a) - rank(b))
}

/**
 * Renames the folder out of the cache's namespace first, so that no reader ever finds it half
 * removed (a weights.json whose weights.bin is gone), then deletes it. A process killed in between
 * leaves a `.removing-*` folder, which listings skip and the next prune deletes.
 */
function removeWeightsFolder(root: string, folder: string): boolean {
  const hidden = join(
    root,
    `${REMOVING_PREFIX}${basename(folder)}-${process.pid}-${randomBytes(4).toString('hex')}`
  )
  try {
    renameSync(folder, hidden)
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false
    throw new Error(`pruneCache: cannot move ${folder} aside: ${(error as Error).message}`)
  }
  deleteTree(hidden)
  return true
}

/** One unlink: a file is gone at once or not at all, so no rename is needed to hide a half state. */
function removeGraph(graph: string): boolean {
  try {
    unlinkSync(graph)
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false
    throw new Error(`pruneCache: cannot remove ${graph}: ${(error as Error).message}`)
  }
  return true
}

/** Deletes the `.removing-*` leftovers of interrupted removals; returns their paths and bytes. */
function finishRemovals(root: string): { paths: string[]; bytes: number } {
  const finished = { paths: [] as string[], bytes: 0 }
  for (const name of namesIn(root)) {
    if (!name.startsWith(REMOVING_PREFIX)) continue
    const path = join(root, name)
    finished.bytes += treeUsage(path).bytes
    deleteTree(path)
    finished.paths.push(path)
  }
  return finished
}

function deleteTree(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true })
  } catch (error) {
    throw new Error(
      `pruneCache: cannot delete ${path} (the next prune tries again): ${(error as Error).message}`
    )
  }
}

/** Bytes of a file, or of everything under a folder, and the newest mtime among its files. */
function treeUsage(path: string): { bytes: number; newestMs: number } {
  const stat = statOrNull(path)
  if (!stat) return { bytes: 0, newestMs: 0 }
  if (!stat.isDirectory()) return { bytes: stat.size, newestMs: stat.mtimeMs }
  const usage = { bytes: 0, newestMs: 0 }
  for (const name of namesIn(path)) {
    const inner = treeUsage(join(path, name))
    usage.bytes += inner.bytes
    usage.newestMs = Math.max(usage.newestMs, inner.newestMs)
  }
  return usage
}

function namesIn(folder: string): string[] {
  try {
    return readdirSync(folder)
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return []
    throw error
  }
}

/** A stat, or null for something removed meanwhile (another process may prune or write too). */
function statOrNull(path: string) {
  try {
    return statSync(path)
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null
    throw error
  }
}

function isInside(path: string, folder: string): boolean {
  return path === folder || path.startsWith(folder + sep)
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code
}

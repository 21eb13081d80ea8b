/**
 * Finds model folders users already have: snapshots in the HF hub cache and folders under the
 * folders they watch. Everything found is checked as models.validate checks it. The files are the
 * user's and may be anything — symlink loops, unreadable folders, huge configs, foreign names — so
 * each is either listed or skipped with the reason; nothing found here throws.
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type {
  DiscoveredModel,
  DiscoveryRoot,
  ModelDiscovery,
  ModelSource,
  SkippedModelPath
} from '../../src-preload/contract'
import { validateModelFolder } from '../jobs/kinds/model-validate'
import { folderSizeBytes, hasSafetensorsWeights, isFile } from './folder-files'
import {
  currentRevision,
  isRevisionName,
  MODEL_REPO_PREFIX,
  modelNameOf,
  repoIdOfCacheFolder,
  snapshotModelName
} from './hf-cache'

/** A watched folder is looked at itself and this many levels below (`root/org/model`). */
const WATCHED_DEPTH = 2

export interface DiscoveryInput {
  hfCacheDir: string
  folders: readonly string[]
}

/** A candidate before it is checked: what discovery knows from where it was found. */
interface Candidate {
  name: string
  path: string
  source: ModelSource
}

class Discovery {
  readonly models: DiscoveredModel[] = []
  readonly skipped: SkippedModelPath[] = []
  /** Real paths already looked at: a folder reached twice (a link to an ancestor) is seen once. */
  private readonly seen = new Set<string>()

  skip(path: string, reason: string): void {
    this.skipped.push({ path, reason })
  }

  /** The folder's entries; null (and skipped) when it cannot be listed. */
  list(dir: string): string[] | null {
    try {
      return readdirSync(dir).sort()
    } catch (error) {
      this.skip(dir, `cannot list the folder: ${(error as Error).message}`)
      return null
    }
  }

  /** False (skipped, with why) for a folder that cannot be resolved or was looked at already. */
  firstVisit(dir: string): boolean {
    let real: string
    try {
      real = realpathSync(dir)
      if (!statSync(real).isDirectory()) return false
    } catch (error) {
      this.skip(dir, `cannot follow the path: ${(error as Error).message}`)
      return false
    }
    if (this.seen.has(real)) {
      this.skip(dir, `the same folder as one already looked at (${real})`)
      return false
    }
    this.seen.add(real)
    return true
  }

  check(candidate: Candidate): void {
    const validation = validateModelFolder(candidate.path)
    if (validation.architecture === null) {
      this.skip(candidate.path, validation.errors[0] ?? 'config.json names no architecture')
      return
    }
    this.models.push({
      ...candidate,
      architecture: validation.architecture,
      parameterCount: validation.parameterCount,
      dtype: validation.dtype,
      sizeBytes: folderSizeBytes(candidate.path),
      trainsHere: validation.ok,
      problems: validation.errors,
      registeredModelId: null
    })
  }
}

export function discoverModels(input: DiscoveryInput): ModelDiscovery {
  const discovery = new Discovery()
  const roots: DiscoveryRoot[] = [
    { path: resolve(input.hfCacheDir), kind: 'hf-cache', exists: isFolder(input.hfCacheDir) }
  ]
  if (roots[0].exists) scanHfCache(discovery, roots[0].path)
  for (const folder of input.folders) {
    const root: DiscoveryRoot = { path: resolve(folder), kind: 'folder', exists: isFolder(folder) }
    roots.push(root)
    if (root.exists) scanWatchedFolder(discovery, root.path, root.path, WATCHED_DEPTH)
  }
  return { roots, models: discovery.models, skipped: discovery.skipped }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

function scanHfCache(discovery: Discovery, cacheDir: string): void {
  for (const entry of discovery.list(cacheDir) ?? []) {
    if (!entry.startsWith(MODEL_REPO_PREFIX)) continue // datasets--…, spaces--…, .locks
    const repoDir = join(cacheDir, entry)
    const repoId = repoIdOfCacheFolder(entry)
    if (!repoId) {
      discovery.skip(
        repoDir,
        `${JSON.stringify(entry)} is not a models--org--name folder huggingface_hub writes`
      )
      continue
    }
    const snapshotsDir = join(repoDir, 'snapshots')
    if (!existsSync(snapshotsDir)) continue // a download that never got a snapshot
    const current = currentRevision(repoDir)
    for (const revision of discovery.list(snapshotsDir) ?? []) {
      const path = join(snapshotsDir, revision)
      if (!isRevisionName(revision)) {
        discovery.skip(path, `${JSON.stringify(revision)} is not a revision name`)
        continue
      }
      if (!discovery.firstVisit(path)) continue
      if (!isModelFolder(discovery, path)) continue
      discovery.check({
        name: snapshotModelName(repoId, revision),
        path,
        source: { kind: 'hf-cache', repoId, revision, current: revision === current }
      })
    }
  }
}

function scanWatchedFolder(discovery: Discovery, root: string, dir: string, depth: number): void {
  if (!discovery.firstVisit(dir)) return
  if (isFile(join(dir, 'config.json'))) {
    if (isModelFolder(discovery, dir))
      discovery.check({ name: modelNameOf(dir), path: dir, source: { kind: 'folder', root } })
    return
  }
  if (depth === 0) return
  for (const entry of discovery.list(dir) ?? []) {
    if (entry.startsWith('.')) continue
    const child = join(dir, entry)
    if (!isFolder(child) && !isBrokenLink(child)) continue
    if (/[\p{Cc}]/u.test(entry)) {
      discovery.skip(child, `the folder name ${JSON.stringify(entry)} holds control characters`)
      continue
    }
    scanWatchedFolder(discovery, root, child, depth - 1)
  }
}

/** A path that exists as a link but not as what it points at (a loop, a target gone). */
function isBrokenLink(path: string): boolean {
  try {
    statSync(path)
    return false
  } catch {
    return true
  }
}

/** config.json and safetensors weights; a folder with only the first is skipped with why. */
function isModelFolder(discovery: Discovery, dir: string): boolean {
  if (!isFile(join(dir, 'config.json'))) {
    discovery.skip(dir, 'no config.json (or a broken link to it)')
    return false
  }
  if (!hasSafetensorsWeights(dir)) {
    discovery.skip(dir, 'no model.safetensors or model.safetensors.index.json: only safetensors weights load')
    return false
  }
  return true
}

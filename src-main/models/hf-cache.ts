/**
 * The Hugging Face hub cache as huggingface_hub lays it out
 * (https://huggingface.co/docs/huggingface_hub/guides/manage-cache): one folder per repository,
 * `models--<org>--<name>`, holding `refs/<branch>` (a file naming a commit) and
 * `snapshots/<commit>/`, whose files are symlinks into `blobs/`.
 */
import { readFileSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'

/** Where the hub cache is: $HF_HUB_CACHE, else $HF_HOME/hub, else the XDG cache's huggingface/hub. */
export function hfHubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return resolve(env.HF_HUB_CACHE)
  if (env.HF_HOME) return resolve(env.HF_HOME, 'hub')
  return resolve(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface', 'hub')
}

export const MODEL_REPO_PREFIX = 'models--'

/**
 * One part of a repository id, or a snapshot's revision: what the hub allows. Anything else in a
 * cache folder's name was not written by huggingface_hub and is skipped, never guessed at.
 */
const NAME_PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/

/** `models--org--name` → `org/name` (or `name` for a repository without an owner); null if foreign. */
export function repoIdOfCacheFolder(folder: string): string | null {
  if (!folder.startsWith(MODEL_REPO_PREFIX)) return null
  const parts = folder.slice(MODEL_REPO_PREFIX.length).split('--')
  if (parts.length > 2 || !parts.every((part) => NAME_PART.test(part))) return null
  return parts.join('/')
}

export function isRevisionName(name: string): boolean {
  return NAME_PART.test(name)
}

/** A model's name as discovery shows it: `org/name@` and the revision's first 7 characters. */
export function snapshotModelName(repoId: string, revision: string): string {
  return `${repoId}@${revision.slice(0, 7)}`
}

/** A model folder's default name: an HF cache snapshot's `org/name@rev7`, else the folder's name. */
export function modelNameOf(path: string): string {
  const snapshot = hfSnapshotOf(path)
  return snapshot ? snapshotModelName(snapshot.repoId, snapshot.revision) : basename(resolve(path))
}

export interface HfSnapshotLocation {
  repoId: string
  revision: string
}

/** The repository and revision of a `…/models--org--name/snapshots/<rev>` folder; null for any other. */
export function hfSnapshotOf(path: string): HfSnapshotLocation | null {
  const snapshot = resolve(path)
  const snapshots = dirname(snapshot)
  if (basename(snapshots) !== 'snapshots') return null
  const repoId = repoIdOfCacheFolder(basename(dirname(snapshots)))
  const revision = basename(snapshot)
  return repoId && isRevisionName(revision) ? { repoId, revision } : null
}

/** refs/main names a commit: anything longer is not a ref huggingface_hub wrote. */
const MAX_REF_BYTES = 256

/** The commit `<repoDir>/refs/main` names; null when there is none or it is not one. */
export function currentRevision(repoDir: string): string | null {
  const ref = join(repoDir, 'refs', 'main')
  try {
    if (statSync(ref).size > MAX_REF_BYTES) return null
    const revision = readFileSync(ref, 'utf8').trim()
    return isRevisionName(revision) ? revision : null
  } catch {
    return null
  }
}

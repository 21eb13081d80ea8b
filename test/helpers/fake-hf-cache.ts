/**
 * A Hugging Face hub cache as huggingface_hub writes it, built from stories260K's files:
 * `models--<org>--<name>/blobs/<sha>` holding the bytes, `snapshots/<rev>/<file>` symlinks into
 * blobs/, and `refs/main` naming the current revision.
 */
import { createHash } from 'node:crypto'
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { STORIES_260K } from './temp'

export const STORIES_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']

/** A revision name shaped like a commit: 40 hex digits from a label. */
export function revisionOf(label: string): string {
  return createHash('sha1').update(label).digest('hex')
}

/**
 * Adds snapshots of stories260K for `repoId` (org/name) under `hubDir`, one per revision label;
 * refs/main names the last. Answers the snapshot folders.
 */
export function addCachedModel(hubDir: string, repoId: string, labels: readonly string[]): string[] {
  const repoDir = join(hubDir, `models--${repoId.replace('/', '--')}`)
  const blobs = join(repoDir, 'blobs')
  mkdirSync(blobs, { recursive: true })
  mkdirSync(join(repoDir, 'refs'), { recursive: true })
  const blobOf = new Map<string, string>()
  for (const file of STORIES_FILES) {
    const sha = createHash('sha256')
      .update(readFileSync(join(STORIES_260K, file)))
      .digest('hex')
    copyFileSync(join(STORIES_260K, file), join(blobs, sha))
    blobOf.set(file, sha)
  }
  const snapshots = labels.map((label) => {
    const snapshot = join(repoDir, 'snapshots', revisionOf(label))
    mkdirSync(snapshot, { recursive: true })
    for (const [file, sha] of blobOf) symlinkSync(relative(snapshot, join(blobs, sha)), join(snapshot, file))
    return snapshot
  })
  writeFileSync(join(repoDir, 'refs', 'main'), revisionOf(labels.at(-1)!))
  return snapshots
}

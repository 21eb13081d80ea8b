/**
 * What a model folder holds on disk, read without trusting it: sizes with symlinks followed (an HF
 * cache snapshot is all symlinks into blobs/), and the tokenizer's kind from a size-capped read.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { SHARD_INDEX_NAME, SINGLE_FILE_NAME } from '../engine/checkpoint/safetensors'

/** A tokenizer.json larger than this is not parsed for its kind (the biggest published are ~30 MB). */
const MAX_TOKENIZER_BYTES = 256 << 20

/**
 * The bytes of the folder's files, one level deep; a broken link counts nothing, and a folder that
 * cannot be listed counts 0 (models.validate's errors say why it cannot be read).
 */
export function folderSizeBytes(dir: string): number {
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return 0
  }
  let total = 0
  for (const entry of entries) {
    try {
      const stats = statSync(join(dir, entry))
      if (stats.isFile()) total += stats.size
    } catch {
      // A broken symlink (a blob huggingface_hub never finished) holds nothing on disk.
    }
  }
  return total
}

/** Whether the folder has what the engine loads weights from (safetensors.ts openCheckpoint). */
export function hasSafetensorsWeights(dir: string): boolean {
  return [SINGLE_FILE_NAME, SHARD_INDEX_NAME].some((name) => isFile(join(dir, name)))
}

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}

/** tokenizer.json's `model.type` (BPE, Unigram, WordPiece, WordLevel); null when absent or unreadable. */
export function tokenizerKindOf(dir: string): string | null {
  const path = join(dir, 'tokenizer.json')
  try {
    if (statSync(path).size > MAX_TOKENIZER_BYTES) return null
    const type = (JSON.parse(readFileSync(path, 'utf8')) as { model?: { type?: unknown } }).model?.type
    return typeof type === 'string' ? type : null
  } catch {
    return null
  }
}

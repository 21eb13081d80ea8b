import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A fresh folder under the OS temp dir; remove it with the returned cleanup. */
export function tempDir(prefix = 'fs-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** The repository's sibling `shared/` folder, where CI and developers keep the real models and datasets. */
export const SHARED_DIR = join(import.meta.dirname, '..', '..', '..', 'shared')
export const STORIES_260K = join(SHARED_DIR, 'models', 'stories260K')

/** The demo data's story requests ("Tell me a story about Bob the bird."), embedded in resources/. */
export const STORY_REQUESTS = join(
  import.meta.dirname,
  '..',
  '..',
  'resources',
  'datasets',
  'story-requests',
  'train.jsonl'
)

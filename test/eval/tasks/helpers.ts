import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterEach } from 'vitest'
import { tempDir } from '../../helpers/temp'

/**
 * Writes files (path relative to a fresh temp folder → content) and returns the folder; the
 * folders are removed after each test.
 */
export function useTaskFolders(): (files: Record<string, string>) => string {
  const cleanups: (() => void)[] = []
  afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()))
  return (files) => {
    const { dir, cleanup } = tempDir('eval-task-')
    cleanups.push(cleanup)
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true })
      writeFileSync(join(dir, path), content)
    }
    return dir
  }
}

/** JSON Lines from rows. */
export function jsonl(rows: readonly unknown[]): string {
  return rows.map((row) => JSON.stringify(row)).join('\n') + '\n'
}

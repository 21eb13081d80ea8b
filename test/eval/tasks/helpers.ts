import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterEach } from 'vitest'
import { builtinTaskFile, loadTask, type LoadedTask } from '../../../src-main/eval/tasks'
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

/** A built-in task (resources/benchmarks) by name, loaded. */
export function loadBuiltinTask(name: string): Promise<LoadedTask> {
  const file = builtinTaskFile(name)
  if (file === null) throw new Error(`loadBuiltinTask: no built-in task ${name}`)
  return loadTask(file)
}

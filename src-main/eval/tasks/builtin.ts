/**
 * The built-in suite: `resources/benchmarks/<name>/<name>.yaml`, a task or group file in the
 * format above with its data and provenance beside it. A member task of a group (e.g.
 * `mmlu_anatomy`) is found by its file name in any benchmark folder.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { resourcesDir } from '../../resources'
import { loadTaskFile } from './load'

export interface BuiltinTask {
  name: string
  title: string
  kind: 'task' | 'group'
  /** Documents evaluated (a group: over all its tasks). */
  size: number
  /** Member tasks of a group; empty for a task. */
  tasks: string[]
  file: string
}

function benchmarksDir(): string {
  return join(resourcesDir(), 'benchmarks')
}

function mainFile(dir: string, name: string): string | null {
  const file = join(dir, name, `${name}.yaml`)
  return existsSync(file) ? file : null
}

/** The built-in benchmarks' names and task (or group) files, by name; reads no data. */
export function builtinTaskFiles(): { name: string; file: string }[] {
  const dir = benchmarksDir()
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && mainFile(dir, entry.name) !== null)
    .map((entry) => ({ name: entry.name, file: mainFile(dir, entry.name) as string }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/** The built-in benchmarks, by name, with their titles and sizes (this reads their data). */
export async function listBuiltinTasks(): Promise<BuiltinTask[]> {
  const list: BuiltinTask[] = []
  for (const { name, file } of builtinTaskFiles()) {
    const loaded = await loadTaskFile(file)
    if (loaded.kind === 'task') {
      const { task } = loaded
      list.push({
        name,
        title: task.config.title ?? task.config.alias ?? task.name,
        kind: 'task',
        size: task.docs.length,
        tasks: [],
        file
      })
    } else {
      const { group } = loaded
      const size = group.tasks.reduce((sum, task) => sum + task.docs.length, 0)
      list.push({
        name,
        title: group.title ?? group.alias ?? group.name,
        kind: 'group',
        size,
        tasks: group.tasks.map((t) => t.name),
        file
      })
    }
  }
  return list
}

/** The task or group file of a built-in benchmark or member task; null when there is none. */
export function builtinTaskFile(name: string): string | null {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) return null
  const dir = benchmarksDir()
  const direct = mainFile(dir, name)
  if (direct) return direct
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue
    const file = join(dir, entry.name, `${name}.yaml`)
    if (existsSync(file)) return file
  }
  return null
}

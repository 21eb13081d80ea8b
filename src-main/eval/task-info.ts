/**
 * What the app shows of a task file before it runs: its kind, size, metrics, the hash that
 * identifies it, and its first documents rendered as the model will see them.
 */
import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import type { EvalTaskInfo, EvalTaskPreview } from '../../src-preload/contract'
import { memberTasks, targetText, type TaskFile } from './runner'
import {
  buildRequests,
  builtinTaskFile,
  loadTaskFile,
  metricKey,
  type ChatTurn,
  type LoadedTask
} from './tasks'

/** A built-in's name, or a task file's path: the file to read. */
export function resolveTaskRef(ref: string): string {
  const builtin = builtinTaskFile(ref)
  if (builtin) return builtin
  const path = resolve(ref)
  if (!existsSync(path)) {
    throw new Error(`task ${JSON.stringify(ref)} is neither a built-in task nor an existing file (${path})`)
  }
  if (!statSync(path).isFile()) throw new Error(`task ${path} is not a file`)
  return path
}

function metricKeys(task: LoadedTask): string[] {
  const filters = task.config.filters.length > 0 ? task.config.filters.map((f) => f.name) : ['none']
  return filters.flatMap((filter) => task.config.metrics.map((m) => metricKey(m.metric, filter)))
}

export function taskInfo(file: TaskFile, builtin: boolean): EvalTaskInfo & { hash: string } {
  const tasks = memberTasks(file)
  const first = tasks[0]
  const common = {
    builtin,
    outputType: first.config.outputType,
    size: tasks.reduce((sum, task) => sum + task.docs.length, 0),
    numFewshot: first.config.numFewshot
  }
  if (file.kind === 'task') {
    const { task } = file
    return {
      ...common,
      name: task.name,
      title: task.config.title ?? task.config.alias ?? task.name,
      file: task.file,
      kind: 'task',
      tasks: [],
      metrics: metricKeys(task),
      hash: task.hash
    }
  }
  const { group } = file
  return {
    ...common,
    name: group.name,
    title: group.title ?? group.alias ?? group.name,
    file: group.file,
    kind: 'group',
    tasks: tasks.map((task) => task.name),
    metrics: group.aggregates.map((a) => metricKey(a.metric, a.filters?.[0] ?? 'none')),
    hash: group.hash
  }
}

export interface PreviewOptions {
  numFewshot?: number
  renderChat?: (turns: readonly ChatTurn[]) => string
  count?: number
}

/** The task file's first documents (a group's: its first member's) as the model will see them. */
export function previewTask(file: TaskFile, builtin: boolean, options: PreviewOptions = {}): EvalTaskPreview {
  const task = memberTasks(file)[0]
  const requests = buildRequests(task, {
    numFewshot: options.numFewshot,
    limit: options.count ?? 3,
    renderChat: options.renderChat
  })
  return {
    ...taskInfo(file, builtin),
    examples: requests.map((request) => ({
      index: request.index,
      task: task.name,
      prompt: request.prompt,
      choices: request.choices ? [...request.choices] : null,
      target: targetText(request.target, request.choices)
    }))
  }
}

/** Reads a task reference: its file, whether it is built in, and the loaded task or group. */
export async function readTaskRef(ref: string): Promise<{ file: TaskFile; builtin: boolean }> {
  const path = resolveTaskRef(ref)
  return { file: await loadTaskFile(path), builtin: builtinTaskFile(ref) === path }
}

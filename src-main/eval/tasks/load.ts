/**
 * Loading a task file (or a group file such as MMLU's) with its data: the validated config, the
 * evaluated documents, the few-shot pool, the fields compiled against the data's columns, and a
 * content hash over everything that decides the result (task file, included files, data files).
 *
 * A group file (lm-eval's convention, supported minimally) has `group`, optional `group_alias`,
 * `task` (a list of task names or paths, resolved as `<name>.yaml`, `.yml` or `.json` beside the
 * group file, or as a path relative to it), optional `aggregate_metric_list` (`metric`,
 * `weight_by_size`, `aggregation: mean`, `filter_list`) and `metadata`. Groups do not nest.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { parseTaskConfig } from './config'
import { readSplit, type SplitData } from './data'
import { TaskFileError } from './errors'
import { compilePromptFields } from './fields'
import { describe, isMapping } from './key-reader'
import { hashFiles, readTaskFile, type RawTaskFile } from './task-file'
import type { AggregateSpec, Doc, LoadedTask, TaskConfig, TaskGroup } from './types'

const GROUP_KEYS = new Set(['group', 'group_alias', 'task', 'aggregate_metric_list', 'metadata'])

/** The split a task evaluates and the split (or samples) its few-shot examples come from. */
function splitsOf(file: string, config: TaskConfig): { evalSplit: string; fewshotSplit: string | null } {
  const evalSplit = config.testSplit ?? config.validationSplit
  if (evalSplit === null)
    throw new TaskFileError(file, 'test_split', 'a task needs test_split or validation_split')
  // lm-eval: fewshot_config.split (or fewshot_split), else its samples, else training, validation, test docs.
  const fewshotSplit =
    config.fewshot.split ??
    (config.fewshot.samples !== null
      ? null
      : (config.trainingSplit ?? config.validationSplit ?? config.testSplit))
  const named: [string, string | null][] = [
    ['test_split', config.testSplit],
    ['validation_split', config.validationSplit],
    ['training_split', config.trainingSplit],
    [config.fewshot.split === null ? 'fewshot_split' : 'fewshot_config.split', config.fewshot.split]
  ]
  for (const [key, split] of named) {
    if (split !== null && !(split in config.dataFiles)) {
      throw new TaskFileError(
        file,
        key,
        `the split "${split}" has no file in dataset_kwargs.data_files (which names ${Object.keys(config.dataFiles).join(', ')})`
      )
    }
  }
  return { evalSplit, fewshotSplit }
}

function checkMetricColumns(file: string, config: TaskConfig, columns: readonly string[]): void {
  config.metrics.forEach((spec, i) => {
    if (spec.metric !== 'mentions_all') return
    spec.fields.forEach((field, j) => {
      if (!columns.includes(field)) {
        throw new TaskFileError(
          file,
          `metric_list[${i}].fields[${j}]`,
          `the data has no column "${field}" (columns: ${columns.join(', ')})`
        )
      }
    })
  })
}

async function loadFromRaw(raw: RawTaskFile): Promise<LoadedTask> {
  const { file } = raw
  if ('group' in raw.values)
    throw new TaskFileError(file, 'group', 'this is a group file: load it as a group')
  const config = parseTaskConfig(file, raw.values)
  const { evalSplit, fewshotSplit } = splitsOf(file, config)
  const splits = new Map<string, SplitData>()
  const read = async (split: string) => {
    const cached = splits.get(split)
    if (cached) return cached
    const data = await readSplit(file, config.dataFormat, split, config.dataFiles[split])
    splits.set(split, data)
    return data
  }
  const evaluated = await read(evalSplit)
  const fewshotPool: readonly Doc[] =
    fewshotSplit === null ? (config.fewshot.samples ?? []) : (await read(fewshotSplit)).docs
  checkMetricColumns(file, config, evaluated.columns)
  const dataFiles = Object.keys(config.dataFiles)
    .sort()
    .map((split) => ({ role: `data:${split}`, path: config.dataFiles[split] }))
  return {
    file,
    name: config.task,
    config,
    hash: hashFiles([
      ...raw.sources.map((path, i) => ({ role: i === 0 ? 'task' : 'include', path })),
      ...dataFiles
    ]),
    evalSplit,
    docs: evaluated.docs,
    fewshotPool,
    fewshotSplit,
    columns: evaluated.columns,
    prompts: compilePromptFields(file, config, evaluated.columns),
    fewshotPrompts: compilePromptFields(
      file,
      { ...config.fewshot, description: '' },
      evaluated.columns,
      'fewshot_config.'
    )
  }
}

/** Loads a task file and its data; throws TaskFileError naming the file, key and row. */
export async function loadTask(path: string): Promise<LoadedTask> {
  return loadFromRaw(readTaskFile(path))
}

function resolveMember(groupFile: string, entry: string): string {
  const base = dirname(groupFile)
  const candidates = isAbsolute(entry)
    ? [entry]
    : [resolve(base, entry), ...['.yaml', '.yml', '.json'].map((ext) => resolve(base, entry + ext))]
  const found = candidates.find((candidate) => existsSync(candidate))
  if (!found)
    throw new TaskFileError(
      groupFile,
      'task',
      `no task file for "${entry}" (looked for ${candidates.join(', ')})`
    )
  return found
}

function readAggregates(file: string, values: Record<string, unknown>): AggregateSpec[] {
  const raw = values.aggregate_metric_list
  if (raw === undefined || raw === null) return []
  const list = Array.isArray(raw) ? raw : [raw]
  return list.map((entry, i) => {
    const key = `aggregate_metric_list[${i}]`
    if (!isMapping(entry))
      throw new TaskFileError(file, key, `must be a mapping with "metric", got ${describe(entry)}`)
    for (const name of Object.keys(entry)) {
      if (!['metric', 'weight_by_size', 'aggregation', 'filter_list'].includes(name))
        throw new TaskFileError(
          file,
          `${key}.${name}`,
          'unknown key; supported: metric, weight_by_size, aggregation, filter_list'
        )
    }
    if (typeof entry.metric !== 'string')
      throw new TaskFileError(file, `${key}.metric`, `must name a metric, got ${describe(entry.metric)}`)
    if (entry.aggregation !== undefined && entry.aggregation !== 'mean')
      throw new TaskFileError(
        file,
        `${key}.aggregation`,
        `only "mean" is supported (as in lm-eval), got ${describe(entry.aggregation)}`
      )
    const weight = entry.weight_by_size ?? true
    if (typeof weight !== 'boolean')
      throw new TaskFileError(file, `${key}.weight_by_size`, `must be true or false, got ${describe(weight)}`)
    const filters =
      entry.filter_list === undefined || entry.filter_list === null
        ? null
        : typeof entry.filter_list === 'string'
          ? [entry.filter_list]
          : entry.filter_list
    if (filters !== null && (!Array.isArray(filters) || !filters.every((f) => typeof f === 'string'))) {
      throw new TaskFileError(
        file,
        `${key}.filter_list`,
        `must be a filter name or a list of them, got ${describe(entry.filter_list)}`
      )
    }
    return { metric: entry.metric, filters, weightBySize: weight }
  })
}

async function groupFromRaw(raw: RawTaskFile): Promise<TaskGroup> {
  const { file, values } = raw
  for (const [name, value] of Object.entries(values)) {
    if (!GROUP_KEYS.has(name) && value !== null)
      throw new TaskFileError(
        file,
        name,
        `unknown key in a group file; supported: ${[...GROUP_KEYS].join(', ')}`
      )
  }
  if (typeof values.group !== 'string' || values.group === '')
    throw new TaskFileError(file, 'group', `must name the group, got ${describe(values.group)}`)
  const entries = typeof values.task === 'string' ? [values.task] : values.task
  if (!Array.isArray(entries) || entries.length === 0)
    throw new TaskFileError(file, 'task', "must list the group's tasks")
  const tasks: LoadedTask[] = []
  for (const [i, entry] of entries.entries()) {
    if (typeof entry !== 'string')
      throw new TaskFileError(
        file,
        `task[${i}]`,
        `must be a task name or path (groups do not nest), got ${describe(entry)}`
      )
    const member = readTaskFile(resolveMember(file, entry))
    if ('group' in member.values)
      throw new TaskFileError(file, `task[${i}]`, `${member.file} is a group file: groups do not nest`)
    tasks.push(await loadFromRaw(member))
  }
  const names = new Set<string>()
  for (const task of tasks) {
    if (names.has(task.name))
      throw new TaskFileError(file, 'task', `two member tasks are named "${task.name}"`)
    names.add(task.name)
  }
  const metadata = values.metadata ?? {}
  if (!isMapping(metadata))
    throw new TaskFileError(file, 'metadata', `must be a mapping, got ${describe(metadata)}`)
  const hash = createHash('sha256').update(hashFiles(raw.sources.map((path) => ({ role: 'group', path }))))
  for (const task of tasks) hash.update(`\0${task.name}\0${task.hash}`)
  return {
    file,
    name: values.group,
    alias: typeof values.group_alias === 'string' ? values.group_alias : null,
    title: typeof metadata.title === 'string' ? metadata.title : null,
    hash: hash.digest('hex'),
    tasks,
    aggregates: readAggregates(file, values)
  }
}

/** Loads a group file and its member tasks. */
export async function loadTaskGroup(path: string): Promise<TaskGroup> {
  const raw = readTaskFile(path)
  if (!('group' in raw.values))
    throw new TaskFileError(raw.file, null, 'not a group file (it has no "group" key)')
  return groupFromRaw(raw)
}

/** Loads a task file or a group file, whichever the file is. */
export async function loadTaskFile(
  path: string
): Promise<{ kind: 'task'; task: LoadedTask } | { kind: 'group'; group: TaskGroup }> {
  const raw = readTaskFile(path)
  return 'group' in raw.values
    ? { kind: 'group', group: await groupFromRaw(raw) }
    : { kind: 'task', task: await loadFromRaw(raw) }
}

/**
 * Several runs side by side: their metric series, and a diff of only the settings that differ.
 * Settings are the resolved training configuration flattened to dotted keys (adapter.r, lr, …)
 * plus what the run was made of (base model and its hash, dataset version, device); paths
 * that differ between any two runs by construction (output folder, data files written per run,
 * caches, resume points) and the run's history (segments, the raw request, a continue's re-planned
 * schedule) are left out.
 */
import type { RunComparison } from '../../src-preload/contract'
import type { Store } from '../store'
import { notFound } from './errors'

const NOT_SETTINGS = new Set([
  // How a continue re-plans the schedule: the run's history, not a choice to compare.
  'replanSchedule',
  'outDir',
  'dataFile',
  'evalDataFile',
  'cacheDir',
  'metricsJsonl',
  'resumeFrom',
  'segments',
  'request'
])

/** `{a: {b: 1}, c: [1, 2]}` → `{'a.b': 1, c: [1, 2]}`; arrays are values. */
export function flattenSettings(value: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const flat: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) {
    if (prefix === '' && NOT_SETTINGS.has(key)) continue
    const path = prefix === '' ? key : `${prefix}.${key}`
    if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
      Object.assign(flat, flattenSettings(item as Record<string, unknown>, path))
    } else flat[path] = item
  }
  return flat
}

export function compareRuns(store: Store, ids: readonly number[], metrics: readonly string[]): RunComparison {
  const records = ids.map((id) => {
    const record = store.runs.getRecord(id)
    if (!record) throw notFound('run', id)
    return record
  })
  const settings = records.map((run) =>
    flattenSettings({
      baseModelId: run.baseModelId,
      datasetVersionId: run.datasetVersionId,
      device: run.device,
      ...run.config
    })
  )
  const keys = [...new Set(settings.flatMap((s) => Object.keys(s)))].sort()
  const configDiff = keys
    .filter((key) => new Set(settings.map((s) => JSON.stringify(s[key] ?? null))).size > 1)
    .map((key) => ({
      key,
      values: Object.fromEntries(records.map((run, i) => [String(run.id), settings[i][key] ?? null]))
    }))
  const series = records.flatMap((run) =>
    metrics.map((name) => ({
      runId: run.id,
      name,
      points: store.runs.metrics(run.id, { name }).map(({ step, value }) => ({ step, value }))
    }))
  )
  return { runs: ids.map((id) => store.runs.getSummary(id)!), series, configDiff }
}

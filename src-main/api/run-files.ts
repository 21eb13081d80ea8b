/**
 * A run's folder as the run manager sees it. The folder is the truth about checkpoints: they are
 * renamed into place whole, and one may have been written just before its process died, before its
 * row was. What a training process killed mid-write leaves there (a temporary checkpoint or export
 * folder) is removed.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { CHECKPOINTS_DIR, removeStaleRunTemporaries, TRAINER_STATE_FILE } from '../engine/train/checkpoints'
import { isPipelineConfig, stageFolders } from '../engine/train/pipeline'
import type { Store } from '../store'
import type { Checkpoint } from '../store/repos/runs'

/**
 * Removes what training processes killed mid-write left in the runs' folders. A folder that cannot
 * be cleaned (a user's --out made read-only) is left as it is: the next start tries again.
 */
export function removeStaleRunFiles(store: Store): void {
  for (const outDir of store.runs.outDirs()) {
    try {
      removeStaleRunTemporaries(outDir)
    } catch (error) {
      console.warn(`run manager: cannot clean ${outDir}: ${(error as Error).message}`)
    }
  }
}

/** The run's checkpoint row for that step, recorded unless it has one already (a resumed run may save it again). */
export function recordCheckpoint(store: Store, runId: number, step: number, path: string): Checkpoint {
  return (
    store.runs.checkpoints(runId).find((c) => c.step === step) ??
    store.runs.addCheckpoint(runId, { step, path, metrics: {} })
  )
}

/**
 * The run's newest complete checkpoint; one found on disk only is recorded. A pipeline's stages keep
 * theirs in their own folders, numbered by the stage's steps: they are read on the run's timeline.
 */
export function latestCheckpointOf(store: Store, runId: number): { step: number; path: string } | null {
  const record = store.runs.getRecord(runId)
  if (!record?.outDir) return null
  const folders = isPipelineConfig(record.config)
    ? stageFolders(record.config)
    : [{ dir: record.outDir, offset: 0 }]
  const found = folders.flatMap(({ dir, offset }) =>
    savedSteps(join(dir, CHECKPOINTS_DIR)).map((step) => ({
      step: step + offset,
      path: join(dir, CHECKPOINTS_DIR, `step-${step}`)
    }))
  )
  if (found.length === 0) return null
  const latest = found.reduce((a, b) => (b.step > a.step ? b : a))
  recordCheckpoint(store, runId, latest.step, latest.path)
  return latest
}

/** The steps of the complete checkpoints in a checkpoints folder. */
function savedSteps(dir: string): number[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .map((name) => /^step-(\d+)$/.exec(name))
    .filter((match) => match !== null)
    .map((match) => Number(match[1]))
    .filter((step) => existsSync(join(dir, `step-${step}`, TRAINER_STATE_FILE)))
}

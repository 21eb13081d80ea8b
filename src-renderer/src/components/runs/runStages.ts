/**
 * A pipeline run's stages on its step timeline (engine/train/pipeline.ts), from what the run view
 * has: the stages in the run's configuration, the segments their starts opened, and the progress.
 */
import type { RunDetail, RunSegment } from '../../../../src-preload/contract'

export interface StageSpan {
  stage: number
  recipe: string
  /** Steps fromStep + 1 … toStep; toStep null while a stage given in epochs has not started. */
  fromStep: number | null
  toStep: number | null
  /** 'current': the stage the run is in (training, paused or stopped in it). */
  state: 'done' | 'current' | 'waiting'
}

interface StoredStage {
  recipe?: { name?: string }
  maxSteps?: number | null
}

/** The stages of a pipeline run, or [] for a one-stage run. */
export function stageSpans(detail: Pick<RunDetail, 'config' | 'segments' | 'progress'>): StageSpan[] {
  const { config, segments } = detail
  if (config.kind !== 'pipeline' || !Array.isArray(config.stages)) return []
  const step = detail.progress?.step ?? 0
  // Where a stage that has not started would begin: after the one before, when that one's end is known.
  let plannedFrom: number | null = 0
  return (config.stages as StoredStage[]).map((stored, index) => {
    const stage = index + 1
    const first = firstSegmentOf(segments, stage)
    const last = lastSegmentOf(segments, stage)
    const fromStep = first ? first.fromStep : plannedFrom
    const toStep = last
      ? last.totalSteps
      : fromStep !== null && stored.maxSteps
        ? fromStep + stored.maxSteps
        : null
    plannedFrom = toStep
    const state = !last ? 'waiting' : step >= last.totalSteps ? 'done' : 'current'
    return { stage, recipe: stored.recipe?.name ?? '?', fromStep, toStep, state }
  })
}

function firstSegmentOf(segments: RunSegment[], stage: number): RunSegment | undefined {
  return segments.find((segment) => segment.stage === stage)
}

function lastSegmentOf(segments: RunSegment[], stage: number): RunSegment | undefined {
  return segments.filter((segment) => segment.stage === stage).at(-1)
}

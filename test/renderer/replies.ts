/**
 * Whole values of the contract's output types, for scripted replies: plain defaults that a test
 * overrides where it matters, so that every reply has the shape the real API gives.
 */
import type {
  DatasetDetail,
  DatasetSummary,
  DatasetVersionSummary,
  EvalTaskInfo,
  EvaluationDetail,
  EvaluationSummary,
  JobStatus,
  JobSummary,
  ModelListing,
  RunCheckpoints,
  RunDetail,
  RunStatus,
  RunSummary
} from '../../src-preload/contract'

const CREATED_AT = '2026-01-01T00:00:00.000Z'

/** A registered base model; its path follows its name. */
export function modelListing(extra: Partial<ModelListing> = {}): ModelListing {
  const name = extra.name ?? 'stories260K'
  return {
    id: 3,
    name,
    path: `/models/${name}`,
    architecture: 'LlamaForCausalLM',
    parameterCount: 260_000,
    dtype: 'F32',
    contentHash: 'abc',
    createdAt: CREATED_AT,
    contextLength: 512,
    ...extra
  }
}

export function datasetSummary(id: number, extra: Partial<DatasetSummary> = {}): DatasetSummary {
  return {
    id,
    name: `dataset ${id}`,
    description: '',
    createdAt: CREATED_AT,
    sampleCount: 0,
    versionCount: 0,
    latestVersion: null,
    ...extra
  }
}

export function datasetDetail(id: number): DatasetDetail {
  return {
    ...datasetSummary(id),
    updatedAt: CREATED_AT,
    splits: { train: 0, validation: 0, test: 0 },
    deletedCount: 0,
    editedCount: 0,
    tags: []
  }
}

export function datasetVersion(id: number, version: number): DatasetVersionSummary {
  return {
    id,
    datasetId: 1,
    version,
    contentHash: `hash-${id}`,
    sampleCount: 0,
    note: '',
    createdAt: CREATED_AT
  }
}

/** Runs are created one second apart in id order, so that creation order is id order. */
export function runSummary(id: number, status: RunStatus, extra: Partial<RunSummary> = {}): RunSummary {
  return {
    id,
    name: `run ${id}`,
    recipe: 'sft',
    status,
    error: null,
    baseModelId: 1,
    datasetVersionId: 1,
    device: 'cpu',
    progress: null,
    pendingControl: null,
    createdAt: `2026-01-01T00:00:0${id}.000Z`,
    startedAt: null,
    finishedAt: null,
    ...extra
  }
}

export function runDetail(id: number, status: RunStatus, extra: Partial<RunDetail> = {}): RunDetail {
  return {
    ...runSummary(id, status),
    config: {},
    checkpoints: [],
    segments: [],
    outDir: null,
    owner: null,
    ...extra
  }
}

/** A completed run of base model 3 with checkpoints of the given ids at the given steps. */
export function runWithCheckpoints(
  runId: number,
  checkpoints: { id: number; step: number }[],
  extra: Partial<RunCheckpoints> = {}
): RunCheckpoints {
  return {
    runId,
    runName: `run-${runId}`,
    baseModelId: 3,
    status: 'completed',
    checkpoints: checkpoints.map(({ id, step }) => ({
      id,
      step,
      path: `/runs/${runId}/checkpoints/step-${step}`,
      metrics: {},
      createdAt: CREATED_AT
    })),
    ...extra
  }
}

export function jobSummary(id: string, kind: string, status: JobStatus): JobSummary {
  return { id, kind, status, progress: null, error: null, createdAt: CREATED_AT }
}

/** A built-in task; its metrics are lm-eval's for its output type. */
export function evalTaskInfo(
  name: string,
  outputType: EvalTaskInfo['outputType'],
  extra: Partial<EvalTaskInfo> = {}
): EvalTaskInfo {
  return {
    name,
    title: name.toUpperCase(),
    file: `/resources/benchmarks/${name}/${name}.yaml`,
    builtin: true,
    kind: 'task',
    outputType,
    size: 100,
    tasks: [],
    numFewshot: 0,
    metrics: outputType === 'multiple_choice' ? ['acc,none', 'acc_norm,none'] : ['exact_match,strict-match'],
    ...extra
  }
}

/** A queued evaluation of arc_easy on base model 3. */
export function evaluationSummary(id: number, extra: Partial<EvaluationSummary> = {}): EvaluationSummary {
  return {
    id,
    name: `arc_easy: stories260K`,
    task: 'arc_easy',
    kind: 'task',
    runId: null,
    checkpointId: null,
    baseModelId: 3,
    step: null,
    targetKey: 'base:3',
    targetLabel: 'stories260K',
    status: 'queued',
    error: null,
    scores: {},
    primaryMetric: null,
    itemCount: 0,
    createdAt: CREATED_AT,
    finishedAt: null,
    ...extra
  }
}

export function evaluationDetail(id: number, extra: Partial<EvaluationDetail> = {}): EvaluationDetail {
  return { ...evaluationSummary(id), taskFile: null, taskHash: null, settings: null, ...extra }
}

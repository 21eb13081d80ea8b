/** Training runs: their settings, lifecycle and controls, progress, metrics, logs and checkpoints. */
import { z } from 'zod'
import { evalTaskRef } from './evaluations'
import type { ModelValidation } from './models'
import { call, device, id, page, type Device } from './shared'

/**
 * queued: waiting for its device (one run trains at a time per device); running; paused (the worker
 * waits at a step boundary with the model loaded); stopping (a checkpoint is being saved before the
 * end); stopped (ended by the user with a checkpoint: resume or continue it); completed; failed (see error);
 * cancelled (ended by the user without a checkpoint); interrupted (its process died, the app quit, or
 * a failure whose cause can pass ended it, such as a full disk or a lost GPU, which error names:
 * resume it from its last checkpoint).
 */
export type RunStatus =
  | 'queued'
  | 'running'
  | 'paused'
  | 'stopping'
  | 'stopped'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'interrupted'
/** A control request for a run, carried out by the process that owns it. */
export type RunControl = 'pause' | 'resume' | 'stop' | 'cancel'

export interface RunSummary {
  id: number
  name: string
  recipe: string
  status: RunStatus
  /** Why the run failed or was interrupted; null otherwise. */
  error: string | null
  baseModelId: number
  /** null for runs trained from a data file (`finetune-studio train --store`): config.dataFile names it. */
  datasetVersionId: number | null
  device: Device
  /** The last optimizer step reported; null before the first one. Survives the run's end. */
  progress: RunProgress | null
  /** A pause/resume/stop/cancel asked for and not yet carried out by the process that owns the run. */
  pendingControl: RunControl | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

/** One optimizer step as reported while a run trains (also the payload of `run.progress`, with runId). */
export interface RunProgress {
  step: number
  totalSteps: number
  /** The epoch the step's data came from (0-based). */
  epoch: number
  loss: number
  lr: number
  gradNorm: number
  tokensPerSecond: number
  /** Training time so far, over every session of the run. */
  elapsedSeconds: number
  /** Remaining steps at the current session's mean step time. */
  etaSeconds: number
}

/**
 * A stretch of training with one plan. A run starts with one segment; resuming an interrupted run
 * adds a 'resume' segment (same total); `runs.continue` adds a 'continue' segment with the new total
 * (the learning-rate schedule is re-planned over that total from `fromStep` on).
 */
export interface RunSegment {
  kind: 'start' | 'resume' | 'continue'
  fromStep: number
  totalSteps: number
  at: string
  /** In a pipeline: the stage (1-based) the segment trains; it ends at totalSteps, that stage's last step. */
  stage?: number
}

export interface RunCheckpoint {
  id: number
  step: number
  path: string
  metrics: Record<string, number>
  createdAt: string
}

/** A run with the checkpoints one can generate from or evaluate. */
export interface RunCheckpoints {
  runId: number
  runName: string
  /** The base model the run trains: its checkpoints read as many tokens as it does. */
  baseModelId: number
  status: RunStatus
  checkpoints: RunCheckpoint[]
}

export interface RunDetail extends RunSummary {
  /** The fully resolved training configuration, plus request, baseModelHash, data hashes, benchmarks and segments. */
  config: Record<string, unknown>
  checkpoints: RunCheckpoint[]
  segments: RunSegment[]
  /** The run's folder: data, checkpoints/, the exported adapter or model. */
  outDir: string | null
  /** The process that queues or trains the run (null once it has ended); `alive` as seen now. */
  owner: { pid: number; heartbeatAt: string | null; alive: boolean } | null
}

/** One completion of a rollout group: its reward, the loss's advantage (null when not reported), its reward terms. */
export interface RolloutCompletion {
  text: string
  reward: number
  advantage: number | null
  terms?: Record<string, number>
}

/** A prompt (from line `line` of the run's data) and the G completions generated for it at a step. */
export interface RolloutGroup {
  line: number
  prompt: string
  reference: string
  completions: RolloutCompletion[]
}

/** The steps a run generated rollouts at (oldest first), and the rollouts of the one asked for (default the latest). */
export interface RunRollouts {
  steps: number[]
  step: number | null
  groups: RolloutGroup[]
}

/** A line of a run's log (job logs, status changes, the training process's stderr). */
export interface RunLogLine {
  id: number
  runId: number
  at: string
  level: 'info' | 'warn' | 'error'
  message: string
}

/** What a run would do, checked before it starts (`runs.preflight`). */
export interface RunPreflight {
  /** No errors: runs.start with the same input would start. */
  ok: boolean
  errors: string[]
  warnings: string[]
  model: ModelValidation
  recipe: { name: string; params: Record<string, number | boolean | string> }
  data: {
    trainSamples: number
    validationSamples: number
    /** Training examples kept. */
    examples: number
    /** Examples cut to maxSeqLen (kept). */
    truncated: number
    /**
     * Samples left out, with why (sampleId null for rows that are not store samples). The first 200.
     * kind 'template_drops': the chat template leaves part of the sample out (see RunSettings.templateDrops).
     */
    dropped: { sampleId: number | null; line: number; reason: string; kind?: 'template_drops' }[]
    droppedCount: number
    /** Over the kept training examples. */
    tokens: { total: number; trained: number; meanPerExample: number; maxPerExample: number }
    maxSeqLen: number
  }
  /** The first kept training sample rendered with the chat template; trained character ranges marked. */
  preview: {
    sampleId: number | null
    text: string
    spans: { start: number; end: number }[]
    tokens: number
    trainedTokens: number
  } | null
  plan: { totalSteps: number; stepsPerEpoch: number; epochs: number | null; examplesPerStep: number }
  /**
   * Every stage (one for a run without `stages`; data, plan and estimates above are stage 1's): its
   * recipe, the rows its data came to (from which sources of a mixture), how many of them ask a
   * prompt an earlier stage trains on, and its plan.
   */
  stages: PreflightStage[]
  estimate: {
    /**
     * Bytes at the peak of a training step (engine/train/memory-estimate.ts): the frozen weights in
     * the run's base precision, trainable tensors, their gradients + optimizer state, the layers'
     * kept activations, and (absent from reports made before they were counted apart) the loss's
     * logits and the process itself (Node, onnxruntime, a decoded matrix).
     */
    memory: {
      weights: number
      trainable: number
      optimizer: number
      activations: number
      logits?: number
      runtime?: number
      total: number
    }
    secondsPerStep: number
    totalSeconds: number
    /** How the numbers were obtained (measured tokens/s of an earlier run, or the FLOP heuristic). */
    basis: string
  }
}

export interface PreflightStage {
  stage: number
  recipe: string
  rows: number
  mixture: { datasetVersionId: number; rows: number }[] | null
  /** null for stage 1; share is the overlap asked for (null: not controlled, only measured). */
  overlap: { share: number | null; seen: number; unseen: number } | null
  examples: number
  droppedCount: number
  totalSteps: number
}

export interface RunComparison {
  runs: RunSummary[]
  /** One series per run and metric, points in step order. */
  series: { runId: number; name: string; points: { step: number; value: number }[] }[]
  /** Only the settings that differ between the runs: dotted key → value per run id (null = unset). */
  configDiff: { key: string; values: Record<string, unknown> }[]
}

export interface MetricPoint {
  step: number
  name: string
  value: number
}

export const DEFAULT_BENCHMARK_LIMIT = 50

/** Benchmarks during training: every `every` steps (0: only at the end) and at the end, on `limit` documents. */
export const benchmarkPlanSchema = z
  .object({
    tasks: z.array(evalTaskRef).min(1).max(8),
    every: z.number().int().min(0).default(0),
    limit: z.number().int().min(1).max(100_000).nullable().default(DEFAULT_BENCHMARK_LIMIT)
  })
  .strict()

// A generous cap before the registry checks each value against its declaration (text params such as
// a regex have their own, smaller limits).
const recipeParamsSchema = z
  .record(z.string().max(100), z.union([z.number(), z.boolean(), z.string().max(4096)]))
  .default({})

/**
 * Data mixed from several dataset versions by ratio (general-data mixing): `rows` rows in all (default:
 * as many as the sources give without repeating a row), each source's share its ratio over the sum.
 * A source with fewer rows than its share is repeated, in a new shuffled order each pass.
 */
export const dataMixtureSchema = z
  .object({
    sources: z
      .array(z.object({ datasetVersionId: id, ratio: z.number().positive().max(1_000_000) }).strict())
      .min(1)
      .max(8),
    rows: z.number().int().min(1).max(10_000_000).optional()
  })
  .strict()

/**
 * A stage of a pipeline after the first (RunSettings.stages): its recipe, data and schedule; what it
 * leaves out is the run's. It starts from the previous stage's result.
 */
export const runStageSchema = z
  .object({
    recipe: z.string().min(1),
    recipeParams: recipeParamsSchema,
    datasetVersionId: id,
    /** Train on a mixture instead (its first source is datasetVersionId). */
    mixture: dataMixtureSchema.optional(),
    /**
     * Data-overlap control: the share of this stage's rows whose prompt the earlier stages trained on
     * (0: only new prompts, 1: only seen ones). Rows are chosen to give exactly that share; unset keeps
     * every row (the overlap found is reported).
     */
    overlap: z.number().min(0).max(1).optional(),
    lr: z.number().positive().max(10).optional(),
    lrScheduler: z.enum(['constant', 'linear', 'cosine']).optional(),
    warmupSteps: z.number().int().min(0).optional(),
    batchSize: z.number().int().min(1).max(1024).optional(),
    gradAccum: z.number().int().min(1).max(1024).optional(),
    maxSteps: z.number().int().min(1).optional(),
    epochs: z.number().int().min(1).max(1000).optional()
  })
  .strict()
  .refine((v) => v.maxSteps === undefined || v.epochs === undefined, {
    message: 'give maxSteps or epochs, not both'
  })

/** How LoRA's frozen base can be kept (src-main/engine/models/base-precision.ts), fewest bytes last. */
export const BASE_PRECISIONS = ['fp32', 'fp16', 'bf16', 'int8', 'int4'] as const
export type BasePrecision = (typeof BASE_PRECISIONS)[number]

/** Everything that decides a run: base model, dataset version, recipe and settings (runs.start, runs.preflight). */
export const runSettingsSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    baseModelId: id,
    datasetVersionId: id,
    /** Train the first stage on a mixture instead (its first source is datasetVersionId). */
    mixture: dataMixtureSchema.optional(),
    recipe: z.string().min(1).default('sft'),
    recipeParams: recipeParamsSchema,
    /**
     * A pipeline: stages after this one (the settings above are stage 1), each starting from the one
     * before, on one step timeline. Adapter, device, sequence length, seed and the memory settings
     * (basePrecision, recompute) are the run's.
     */
    stages: z.array(runStageSchema).max(7).optional(),
    adapter: z.enum(['lora', 'full']).default('lora'),
    lora: z
      .object({
        r: z.number().int().min(1).max(1024),
        alpha: z.number().positive(),
        dropout: z.number().min(0).max(0.9),
        targets: z.array(z.string().min(1)).min(1)
      })
      .partial()
      .default({}),
    freezeEmbeddings: z.boolean().default(false),
    optimizer: z.enum(['adamw', 'sgd']).default('adamw'),
    lr: z.number().positive().max(10).optional(),
    weightDecay: z.number().min(0).max(1).default(0),
    lrScheduler: z.enum(['constant', 'linear', 'cosine']).default('linear'),
    warmupSteps: z.number().int().min(0).default(0),
    maxGradNorm: z.number().min(0).default(1),
    batchSize: z.number().int().min(1).max(1024).default(4),
    gradAccum: z.number().int().min(1).max(1024).default(1),
    maxSteps: z.number().int().min(1).optional(),
    epochs: z.number().int().min(1).max(1000).optional(),
    maxSeqLen: z.number().int().min(8).optional(),
    seed: z.number().int().min(0).default(0),
    saveEvery: z.number().int().min(0).default(0),
    evalEvery: z.number().int().min(0).default(0),
    benchmarks: benchmarkPlanSchema.optional(),
    packing: z.boolean().default(false),
    /**
     * Samples the chat template leaves content out of (a tool call, reasoning): 'refuse' makes the
     * pre-flight fail and the run not start; 'skip' trains without them.
     */
    templateDrops: z.enum(['refuse', 'skip']).default('refuse'),
    device: device.default('cpu'),
    /**
     * LoRA: how the frozen base model's matrices are kept in memory: fp32 exact (4 bytes a weight),
     * fp16/bf16 2, int8 ~1.06, int4 ~0.56. Full fine-tuning trains float32 weights: fp32 only.
     */
    basePrecision: z.enum(BASE_PRECISIONS).default('fp32'),
    /** Recompute each layer's activations in the backward pass: less memory, ~30% slower steps. */
    recompute: z.boolean().default(true)
  })
  .strict()
  .refine((v) => v.maxSteps === undefined || v.epochs === undefined, {
    message: 'give maxSteps or epochs, not both'
  })
const runId = z.object({ id }).strict()

export const runCalls = {
  'runs.list': call<RunSummary[]>()(
    'Runs, newest first. Runs left active by a process that is gone are marked interrupted first.',
    z.object(page).strict()
  ),
  'runs.start': call<RunSummary>()(
    'Create a run (base model + dataset version + recipe + settings) and queue its training: one run ' +
      'trains at a time per device, others wait as queued. With benchmarks, their tasks are read first (a ' +
      'bad task refuses the run) and the checkpoints of the benchmark steps are evaluated as they are saved.',
    runSettingsSchema
  ),
  'runs.preflight': call<RunPreflight>()(
    'Check a run before starting it: model validation, token counts, samples dropped and why, a ' +
      'template preview of one sample, the plan and estimates of memory and time.',
    runSettingsSchema
  ),
  'runs.get': call<RunDetail>()('One run with its config, checkpoints, segments and owner.', runId),
  'runs.metrics': call<MetricPoint[]>()(
    'Metric points of a run, optionally one metric and only steps after a given one (for live charts). ' +
      'Names: loss, lr, grad_norm, tokens_per_s, eval_loss, recipe metrics as recipe/<name>, and the headline ' +
      'metric of each benchmark evaluated during training as eval/<task>/<metric key> at its checkpoint step.',
    z.object({ id, name: z.string().optional(), afterStep: z.number().int().default(-1) }).strict()
  ),
  'runs.log': call<RunLogLine[]>()(
    "The run's log lines after a given line id (0: from the start), oldest first.",
    z
      .object({
        id,
        afterId: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(5000).default(1000)
      })
      .strict()
  ),
  'runs.pause': call<RunSummary>()(
    'Pause a running run at the next step boundary; the model stays loaded. Status becomes paused when the ' +
      'worker has stopped (pendingControl shows a request another process has not carried out yet).',
    runId
  ),
  'runs.resume': call<RunSummary>()(
    'Resume a paused run at once; or a stopped or interrupted run from its last checkpoint, with the same ' +
      'total steps (exact resume).',
    runId
  ),
  'runs.stop': call<RunSummary>()(
    'Stop a run: the step in flight finishes, a checkpoint is saved, then status stopped. A queued run is cancelled.',
    runId
  ),
  'runs.cancel': call<RunSummary>()('End a run now, without a checkpoint: status cancelled.', runId),
  'runs.continue': call<RunSummary>()(
    'Train a completed, stopped or interrupted run further from its last checkpoint (optimizer state ' +
      'included) with more steps or epochs, as the same run: its metrics continue. The learning-rate ' +
      'schedule is re-planned over the new total from the checkpoint on.',
    z
      .object({
        id,
        addSteps: z.number().int().min(1).optional(),
        addEpochs: z.number().int().min(1).max(1000).optional()
      })
      .strict()
      .refine((v) => (v.addSteps === undefined) !== (v.addEpochs === undefined), {
        message: 'give exactly one of addSteps and addEpochs'
      })
  ),
  'runs.delete': call<{ deleted: boolean }>()(
    'Delete a run with its metrics, checkpoints, logs and its folder in the store (a folder given with ' +
      '`train --out` outside the store is left); refused while it is queued or active.',
    runId
  ),
  'runs.checkpoints': call<RunCheckpoints[]>()(
    'The checkpoints of the newest runs that have any, grouped by run, newest run first (a picker).',
    z.object(page).strict()
  ),
  'runs.rollouts': call<RunRollouts>()(
    'The rollouts a run generated before its steps (grpo on its own samples): the steps that have them, ' +
      "and one step's prompts with their completions, rewards, advantages and reward terms (the latest by default).",
    z.object({ id, step: z.number().int().min(1).optional() }).strict()
  ),
  'runs.compare': call<RunComparison>()(
    'Several runs side by side: their metric series and the settings that differ.',
    z
      .object({
        ids: z.array(id).min(2).max(12),
        metrics: z.array(z.string().min(1)).min(1).default(['loss', 'eval_loss'])
      })
      .strict()
  )
} as const

/**
 * THE API of Finetune Studio. Every call the renderer (or a browser, or the CLI) can make is
 * declared here once: its name, a zod schema for its input (renderer input is untrusted and is
 * parsed in main before any handler sees it) and the type of its output. Events that main pushes
 * to every client are declared below the calls.
 *
 * Three doors serve this contract — Electron IPC (src-main/ipc), the headless HTTP + WebSocket
 * server (src-main/server) and the CLI (src-main/cli.ts) — all onto the same handlers in
 * src-main/api. This file is imported by main and renderer, so it may import nothing but zod (and
 * the plain name list the preload uses).
 */
import { z } from 'zod'
import { CALL_NAMES } from './call-names'

// ---------------------------------------------------------------------------------------------
// Shared shapes
// ---------------------------------------------------------------------------------------------

export type RunStatus = 'queued' | 'running' | 'paused' | 'stopping' | 'completed' | 'failed' | 'interrupted'
export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled'
export type Split = 'train' | 'validation' | 'test'

export interface SystemInfo {
  product: string
  version: string
  storePath: string
  /** The device the engine uses by default, and whether the CUDA EP binaries are installed. */
  engine: { device: 'cpu' | 'cuda'; cudaAvailable: boolean; onnxruntimeVersion: string }
  node: string
  platform: string
  /** Which door this client came through. */
  transport: 'ipc' | 'websocket' | 'http' | 'direct'
}

export interface DatasetSummary {
  id: number
  name: string
  description: string
  createdAt: string
  versionCount: number
  latestVersion: { id: number; version: number; contentHash: string; sampleCount: number } | null
}

export interface DatasetVersionSummary {
  id: number
  datasetId: number
  version: number
  contentHash: string
  sampleCount: number
  note: string
  createdAt: string
}

export interface ImportResult {
  dataset: DatasetSummary
  imported: number
  /** Lines that could not be imported, with why; with onBadRows 'abort' any of them aborts the import. */
  badRows: { file: string; line: number; reason: string }[]
  /** The version cut after the import, when asked for. */
  version: DatasetVersionSummary | null
}

export interface ModelSummary {
  id: number
  name: string
  path: string
  architecture: string
  parameterCount: number
  dtype: string
  contentHash: string
  createdAt: string
}

export interface RunSummary {
  id: number
  name: string
  recipe: string
  status: RunStatus
  error: string | null
  baseModelId: number
  datasetVersionId: number
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

export interface RunDetail extends RunSummary {
  config: Record<string, unknown>
  checkpoints: {
    id: number
    step: number
    path: string
    metrics: Record<string, number>
    createdAt: string
  }[]
}

export interface MetricPoint {
  step: number
  name: string
  value: number
}

export interface EvaluationSummary {
  id: number
  name: string
  benchmark: string
  runId: number | null
  checkpointId: number | null
  baseModelId: number | null
  metrics: Record<string, number>
  createdAt: string
}

export interface EvaluationResultRow {
  sampleKey: string
  prompt: string
  output: string
  expected: string | null
  score: number | null
}

export interface ComparisonSummary {
  id: number
  prompt: string
  evaluationAId: number | null
  evaluationBId: number | null
  outputA: string
  outputB: string
  vote: 'a' | 'b' | 'tie' | null
  createdAt: string
}

export interface JobSummary {
  id: string
  kind: string
  status: JobStatus
  progress: { done: number; total: number; message: string } | null
  error: string | null
  createdAt: string
  result?: unknown
}

// ---------------------------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------------------------

/** A declared call: the input schema is a value, the output is a phantom type. */
export interface CallSpec<I extends z.ZodType, O> {
  input: I
  summary: string
  /** Never read at run time; carries the output type. */
  output?: O
}

function call<O>() {
  return <I extends z.ZodType>(summary: string, input: I): CallSpec<I, O> => ({ input, summary })
}

const noInput = z.object({}).strict()
const id = z.number().int().positive()
const page = {
  limit: z.number().int().min(1).max(1000).default(100),
  offset: z.number().int().min(0).default(0)
}

export const calls = {
  'system.info': call<SystemInfo>()('Product, version, store location and engine device.', noInput),

  'datasets.list': call<DatasetSummary[]>()('Datasets with their latest version.', noInput),
  'datasets.create': call<DatasetSummary>()(
    'Create an empty dataset.',
    z
      .object({ name: z.string().trim().min(1).max(200), description: z.string().max(5000).default('') })
      .strict()
  ),

  'datasets.import': call<ImportResult>()(
    'Import a JSONL file of {"messages": [...]} conversations into a dataset (created if needed), in one transaction.',
    z
      .object({
        path: z.string().min(1),
        datasetId: id.optional(),
        datasetName: z.string().trim().min(1).max(200).optional(),
        split: z.enum(['train', 'validation', 'test']).default('train'),
        onBadRows: z.enum(['skip', 'abort']).default('abort'),
        cutVersion: z.boolean().default(false),
        note: z.string().max(5000).default('')
      })
      .strict()
      .refine((v) => (v.datasetId === undefined) !== (v.datasetName === undefined), {
        message: 'give exactly one of datasetId and datasetName'
      })
  ),
  'datasets.cutVersion': call<DatasetVersionSummary>()(
    'Freeze the dataset as it is now into an immutable version identified by a content hash.',
    z.object({ id, note: z.string().max(5000).default('') }).strict()
  ),
  'datasets.versions': call<DatasetVersionSummary[]>()(
    'Versions of a dataset, newest first.',
    z.object({ id }).strict()
  ),

  'models.list': call<ModelSummary[]>()('Registered base models.', noInput),
  'models.register': call<{ jobId: string }>()(
    'Register an HF model folder as a base model. Hashes the weights in a job; the model appears when it ends.',
    z.object({ path: z.string().min(1), name: z.string().trim().min(1).max(200).optional() }).strict()
  ),

  'runs.list': call<RunSummary[]>()('Runs, newest first.', z.object(page).strict()),
  'runs.start': call<RunSummary & { jobId: string }>()(
    'Create a run (base model + dataset version + recipe + settings) and queue its training.',
    z
      .object({
        name: z.string().trim().min(1).max(200).optional(),
        baseModelId: id,
        datasetVersionId: id,
        recipe: z.string().min(1).default('sft'),
        recipeParams: z.record(z.string(), z.number()).default({}),
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
        packing: z.boolean().default(false),
        device: z.enum(['cpu', 'cuda']).default('cpu')
      })
      .strict()
      .refine((v) => v.maxSteps === undefined || v.epochs === undefined, {
        message: 'give maxSteps or epochs, not both'
      })
  ),
  'runs.get': call<RunDetail>()('One run with its config and checkpoints.', z.object({ id }).strict()),
  'runs.metrics': call<MetricPoint[]>()(
    'Metric points of a run, optionally one metric and only steps after a given one (for live charts).',
    z.object({ id, name: z.string().optional(), afterStep: z.number().int().default(-1) }).strict()
  ),

  'evaluations.list': call<EvaluationSummary[]>()('Evaluations, newest first.', z.object(page).strict()),
  'evaluations.run': call<{ evaluation: EvaluationSummary; jobId: string }>()(
    'Evaluate a base model, or the result of a run, on a built-in benchmark (in a job).',
    z
      .object({
        benchmark: z.string().min(1).default('story-requests'),
        baseModelId: id.optional(),
        runId: id.optional(),
        name: z.string().trim().min(1).max(200).optional(),
        device: z.enum(['cpu', 'cuda']).default('cpu')
      })
      .strict()
      .refine((v) => (v.baseModelId === undefined) !== (v.runId === undefined), {
        message: 'give exactly one of baseModelId and runId'
      })
  ),
  'evaluations.results': call<EvaluationResultRow[]>()(
    'Per-sample results of an evaluation.',
    z.object({ id, ...page }).strict()
  ),
  'comparisons.list': call<ComparisonSummary[]>()(
    'Pairwise comparisons, newest first.',
    z.object(page).strict()
  ),
  'comparisons.create': call<ComparisonSummary>()(
    'Put two evaluations side by side on one benchmark item, for a person to vote on.',
    z.object({ evaluationAId: id, evaluationBId: id, sampleKey: z.string().min(1) }).strict()
  ),
  'comparisons.vote': call<ComparisonSummary>()(
    'Record a vote on a pairwise comparison.',
    z.object({ id, vote: z.enum(['a', 'b', 'tie']) }).strict()
  ),

  'jobs.list': call<JobSummary[]>()('Jobs of this session: queued, running and finished.', noInput),
  'jobs.cancel': call<JobSummary>()(
    'Cancel a queued or running job.',
    z.object({ id: z.string().min(1) }).strict()
  )
} as const

export type Calls = typeof calls
export type CallName = keyof Calls
export type CallInput<K extends CallName> = z.input<Calls[K]['input']>
export type ParsedInput<K extends CallName> = z.output<Calls[K]['input']>
export type CallOutput<K extends CallName> = NonNullable<Calls[K]['output']>
export const callNames: readonly CallName[] = CALL_NAMES

// Compile-time proof that call-names.ts lists exactly the calls declared above.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const _namesMatch: Same<CallName, (typeof CALL_NAMES)[number]> = true
void _namesMatch

export function isCallName(name: unknown): name is CallName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(calls, name)
}

// ---------------------------------------------------------------------------------------------
// Events (main → every client)
// ---------------------------------------------------------------------------------------------

export interface Events {
  'job.progress': { jobId: string; kind: string; done: number; total: number; message: string }
  'job.status': { jobId: string; kind: string; status: JobStatus; error: string | null }
  'job.log': { jobId: string; level: 'info' | 'warn' | 'error'; message: string; at: string }
  'run.progress': {
    runId: number
    step: number
    totalSteps: number
    loss: number
    lr: number
    gradNorm: number
    tokensPerSecond: number
    elapsedSeconds: number
    etaSeconds: number
  }
  'run.status': { runId: number; status: RunStatus; error: string | null }
}
export type EventName = keyof Events
export const eventNames: EventName[] = ['job.progress', 'job.status', 'job.log', 'run.progress', 'run.status']

// ---------------------------------------------------------------------------------------------
// Errors and the client-side shape every door provides
// ---------------------------------------------------------------------------------------------

/** How an error crosses any door: shown to the user as it is. */
export interface ApiErrorShape {
  code: 'invalid_input' | 'not_found' | 'conflict' | 'unauthorized' | 'unknown_call' | 'failed' | 'internal'
  message: string
  details?: unknown
}

export interface StudioClient {
  call<K extends CallName>(name: K, input: CallInput<K>): Promise<CallOutput<K>>
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void
}

/** What the preload script exposes on `window.finetuneStudio`: one named method per call. */
export type PreloadApi = {
  [K in CallName]: (
    input: CallInput<K>
  ) => Promise<{ ok: true; value: CallOutput<K> } | { ok: false; error: ApiErrorShape }>
} & {
  onEvent(listener: (event: EventName, payload: unknown) => void): () => void
}

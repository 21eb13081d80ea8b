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
export type Device = 'cpu' | 'cuda'
/** A control request for a run, carried out by the process that owns it. */
export type RunControl = 'pause' | 'resume' | 'stop' | 'cancel'
export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled'
export type Split = 'train' | 'validation' | 'test'

export interface SystemInfo {
  product: string
  version: string
  storePath: string
  /** The embedded default base model (resources/models/stories260K), or null when it is missing. */
  defaultModelPath: string | null
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
  /** Live (not deleted) samples now. */
  sampleCount: number
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
  /** The job that ran the import (its job.progress events carried the progress). */
  jobId: string
  dataset: DatasetSummary
  imported: number
  fileType: ImportFileType
  mapping: ImportMapping
  /**
   * Rows that could not be imported, with why (the first 1,000; badRowCount counts all). With
   * onBadRows 'abort' any of them aborts the import: the call fails with code 'invalid_input' and
   * details {badRows, badRowCount, goodRowCount}, and nothing is imported. A file without a good
   * row (goodRowCount 0) fails the same way with either onBadRows: no empty dataset is made.
   */
  badRows: { file: string; line: number; reason: string }[]
  badRowCount: number
  /** What was imported but not as the file holds it, e.g. text that was not UTF-8 (read as U+FFFD). */
  warnings: string[]
  /** The version cut after the import, when asked for. */
  version: DatasetVersionSummary | null
}

// --- Dataset curation ------------------------------------------------------------------------
//
// Every sample is ONE conversation schema, whatever format it was imported from:
//   messages  the turns in order; an assistant turn may carry tool_calls, a tool turn answers one
//             (tool_call_id); loss_weight scales a turn's loss (0 = untrained, absent = 1)
//   tools     the function schemas offered to the model (OpenAI "tools"), when the source had any
//   rejected  preference pairs only: the rejected completion. The prompt is every message of
//             `messages` up to and including the last user turn; the chosen completion is the rest
//             of `messages`, and the rejected conversation is that prompt followed by `rejected`.
//   metadata  columns of the source row the mapping did not use (id, source, category, …), kept
//             so that export can write them back; absent when there were none, so that a sample
//             without extras keeps its canonical JSON and content hash. A message's `metadata`
//             is the same for the keys of a source message object the importer does not read.
//             Metadata is part of the sample's content (and hash); nothing in training uses it
//             (a message's goes to the chat template with the message, which ignores it).
// A message's reasoning_content is an assistant turn's reasoning (distilled traces, Qwen3
// thinking data), read from `reasoning_content`, `reasoning` or `thinking`; chat templates that
// know it (Qwen3: message.reasoning_content) render it, others ignore it.
// SFT on a preference sample trains on the chosen completion.

export type ConversationRole = 'system' | 'user' | 'assistant' | 'tool'

export interface ToolCall {
  id?: string
  type: 'function'
  /** `arguments` as the source had it: OpenAI sends a JSON string, ShareGPT/HF templates an object. */
  function: { name: string; arguments: string | Record<string, unknown> }
}

export interface ConversationMessage {
  role: ConversationRole
  content: string
  /** Weight of this turn's tokens in the loss; absent means 1 (the recipe's default). */
  loss_weight?: number
  tool_calls?: ToolCall[]
  /** A tool turn: the call it answers. */
  tool_call_id?: string
  /** A tool turn: the tool's name. */
  name?: string
  /** The turn's reasoning (chain of thought), apart from its content; absent when empty. */
  reasoning_content?: string
  /** Keys of the source message the importer does not read; absent when there were none. */
  metadata?: Record<string, unknown>
}

export interface Conversation {
  messages: ConversationMessage[]
  tools?: unknown[]
  rejected?: ConversationMessage[]
  /** Columns of the source row the mapping did not use; absent when there were none. */
  metadata?: Record<string, unknown>
}

/** File containers an import reads. */
export type ImportFileType = 'jsonl' | 'json' | 'csv' | 'parquet'
/** Row formats an import understands; each is normalised to a Conversation. */
export type ImportFormat = 'messages' | 'sharegpt' | 'alpaca' | 'prompt-completion' | 'preference'
/** Formats an export writes (JSONL). */
export type ExportFormat = 'messages' | 'sharegpt' | 'alpaca'

/**
 * Which source column feeds which field of a format. Fields per format (the other columns are
 * kept as the sample's metadata):
 *   messages          messages, tools?, system?
 *   sharegpt          conversations, tools?, system?
 *   alpaca            instruction, input?, output, history?, system?, reasoning?
 *   prompt-completion prompt, completion, system?, reasoning?
 *   preference        chosen, rejected, prompt?, system?   (prompt absent: chosen and rejected are
 *                     whole conversations sharing their prompt)
 * `reasoning` is the reasoning of the answer: the last assistant turn's reasoning_content.
 * Message objects are read as {role, content} or {from, value} alike; content given as a list of
 * parts ({type: 'text', text | value}) is joined into one string; reasoning_content, reasoning or
 * thinking (the first that holds text) becomes reasoning_content; other keys are kept as the
 * message's metadata.
 */
export interface ImportMapping {
  format: ImportFormat
  columns: Partial<Record<ImportColumnField, string>>
}
export type ImportColumnField =
  | 'messages'
  | 'conversations'
  | 'tools'
  | 'system'
  | 'instruction'
  | 'input'
  | 'output'
  | 'history'
  | 'prompt'
  | 'completion'
  | 'chosen'
  | 'rejected'
  | 'reasoning'

export interface ImportPreviewRow {
  /** 1-based line (JSONL, CSV: the line the record starts on) or record number (JSON, Parquet). */
  line: number
  /** The source row; long strings cut to 2,000 characters. */
  raw: Record<string, unknown>
  /** The row normalised with the mapping, or null when it cannot be (see error). */
  conversation: Conversation | null
  error: string | null
}

export interface ImportPreview {
  path: string
  fileType: ImportFileType
  /** Every column seen in the previewed rows, in first-seen order. */
  columns: string[]
  /** What auto-detection chose (null when nothing fits: the user must map columns). */
  detected: ImportMapping | null
  /** The mapping the rows below were normalised with: the one given, else the detected one. */
  mapping: ImportMapping | null
  /** Why detection chose what it did, the columns kept as metadata, guesses to check. */
  notes: string[]
  rows: ImportPreviewRow[]
}

export interface DatasetDetail extends DatasetSummary {
  updatedAt: string
  /** Samples not deleted, per split. */
  splits: Record<Split, number>
  /** Soft-deleted samples, purged at the next cut. */
  deletedCount: number
  /** Live samples with more than one revision. */
  editedCount: number
  tags: { tag: string; count: number }[]
}

export type DuplicateKind = 'exact' | 'near'

/** Filters for browsing, bulk actions and export; all given ones must hold. */
export interface SampleFilter {
  /** Full-text search (SQLite FTS5) over every turn's text; words are ANDed, "quoted phrases" kept. */
  search?: string
  /**
   * Regular expression in RE2 syntax (linear time: no lookaround, no backreferences), tested against
   * every turn's text (slower than search).
   */
  regex?: string
  /** Any of i (ignore case), m (^ and $ at line ends), s (. matches newline), u (Unicode). */
  regexFlags?: string
  /** Samples carrying every one of these tags. */
  tags?: string[]
  /** Samples carrying none of these tags. */
  excludeTags?: string[]
  untagged?: boolean
  split?: Split
  minMessages?: number
  maxMessages?: number
  /** Samples with a turn of this role (e.g. 'system', 'tool'). */
  hasRole?: ConversationRole
  /** Token-length bounds, measured with this tokenizer key (see datasets.countTokens). */
  tokenizer?: string
  minTokens?: number
  maxTokens?: number
  /** Member of an exact-duplicate group, of a near-duplicate group (last datasets.findNearDuplicates), or either. */
  duplicate?: DuplicateKind | 'any'
  edited?: boolean
  minRating?: number
  maxRating?: number
  /** 'exclude' (default), 'include' or 'only' soft-deleted samples. */
  deleted?: 'exclude' | 'include' | 'only'
  preference?: boolean
}

export type SampleSortColumn =
  | 'id'
  | 'createdAt'
  | 'updatedAt'
  | 'rating'
  | 'split'
  | 'tags'
  | 'messageCount'
  | 'tokenCount'
  | 'revision'
  | 'sourceLine'
  | 'prompt'
  | 'response'

/** One row of the sample table: enough to draw it, not the whole conversation. */
export interface SampleRow {
  id: number
  split: Split
  tags: string[]
  rating: number | null
  revision: number
  edited: boolean
  deleted: boolean
  messageCount: number
  /** Roles in turn order, e.g. ['system', 'user', 'assistant']. */
  roles: ConversationRole[]
  /** The first user turn, cut to 300 characters. */
  prompt: string
  /** The last assistant turn, cut to 300 characters. */
  response: string
  isPreference: boolean
  /** Token count for the tokenizer asked for (null when not counted yet for the current content). */
  tokenCount: number | null
  /** Other live samples with the same content. */
  exactDuplicates: number
  sourceLine: number | null
  createdAt: string
  updatedAt: string
}

export interface SamplePage {
  /** Samples matching the filter (all pages); a lower bound when totalExact is false. */
  total: number
  /**
   * False when a search stopped counting at 10,000 matches to answer at once (counting every match
   * of a very common phrase in a million samples takes a fifth of a second); ask again with
   * exactTotal for the full count.
   */
  totalExact: boolean
  /** Samples of the dataset that search cannot find yet: a large import still being indexed. */
  unindexed: number
  offset: number
  rows: SampleRow[]
}

export interface SampleDetail extends SampleRow {
  datasetId: number
  conversation: Conversation
  sourceFile: string | null
  contentHash: string
  deletedAt: string | null
}

export interface SampleRevisionInfo {
  revision: number
  author: string
  note: string
  createdAt: string
  conversation: Conversation
  tags: string[]
  split: Split
  rating: number | null
  /** Which parts changed from the revision before (revision 1: all of them). */
  changed: ('conversation' | 'tags' | 'split' | 'rating')[]
}

export type BulkAction =
  | { kind: 'tag'; tags: string[] }
  | { kind: 'untag'; tags: string[] }
  | { kind: 'setSplit'; split: Split }
  | { kind: 'rate'; rating: number | null }
  | { kind: 'delete' }
  | { kind: 'restore' }

export interface DuplicateGroup {
  kind: DuplicateKind
  /** Lowest sample id first; keeping the first and deleting the rest resolves the group. */
  sampleIds: number[]
  /** Estimated Jaccard similarity of word shingles (1 for exact duplicates). */
  similarity: number
  /** The first sample's prompt, cut to 300 characters. */
  prompt: string
}

export interface DuplicateReport {
  kind: DuplicateKind
  groups: DuplicateGroup[]
  /** Samples in some group. */
  sampleCount: number
  /** Near duplicates: the settings they were found with. */
  threshold: number | null
  createdAt: string | null
}

export interface HistogramBin {
  /** Inclusive lower and exclusive upper bound. */
  from: number
  to: number
  count: number
}

export interface DatasetStats {
  sampleCount: number
  splits: Record<Split, number>
  roles: { role: ConversationRole; messages: number; samples: number }[]
  /** Samples per message count. */
  messageCounts: { messages: number; samples: number }[]
  preferenceCount: number
  /** Token lengths, when counted with the tokenizer asked for (datasets.countTokens). */
  tokens: {
    tokenizer: string
    counted: number
    min: number
    max: number
    mean: number
    p50: number
    p95: number
    histogram: HistogramBin[]
  } | null
  /** Tokenizers with stored counts, and for how many of the current samples. */
  tokenizers: { tokenizer: string; label: string; counted: number }[]
}

export interface TokenCountResult {
  jobId: string
  tokenizer: string
  label: string
  counted: number
}

export interface TemplatePreview {
  /** The chat template's rendering of the conversation. */
  text: string
  /** The trained (loss-carrying) character ranges of `text`, end exclusive. */
  spans: { start: number; end: number; messageIndex: number; weight: number }[]
  tokenCount: number
  trainedTokenCount: number
  /** 'default', 'tool_use', or 'fallback' (the model has no chat template). */
  template: string
  model: string
}

export type PreflightProblemKind = 'empty' | 'too_long' | 'no_trainable_tokens' | 'template_error'

export interface PreflightReport {
  jobId: string
  checked: number
  maxLength: number
  /** The base model whose tokenizer and chat template rendered the samples. */
  model: string
  /** The most tokens that model trains on (max_position_embeddings); maxLength is at most this. */
  contextLength: number
  counts: Record<PreflightProblemKind, number>
  /** The first 1,000 problems, by sample id. */
  problems: { sampleId: number; kind: PreflightProblemKind; detail: string; tokenCount: number | null }[]
}

export interface SplitResult {
  counts: Record<Split, number>
  /** Samples whose split changed (each got a revision). */
  changed: number
}

export interface ExportResult {
  jobId: string
  path: string
  written: number
  /** Samples the format cannot express (e.g. tool calls in Alpaca), with why; not written. */
  skipped: { sampleId: number | null; position: number | null; reason: string }[]
}

export interface VersionSampleRow {
  position: number
  sampleId: number | null
  sampleRevision: number
  conversation: Conversation
  tags: string[]
  split: Split
  rating: number | null
  contentHash: string
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

/** A registered base model as models.list gives it. */
export interface ModelListing extends ModelSummary {
  /**
   * The most tokens the model reads at once, prompt and generated text together: its positions
   * (max_position_embeddings), or Mistral's sliding window when shorter. null when the config.json
   * in its folder cannot be read any more.
   */
  contextLength: number | null
}

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

/** A line of a run's log (job logs, status changes, the training process's stderr). */
export interface RunLogLine {
  id: number
  runId: number
  at: string
  level: 'info' | 'warn' | 'error'
  message: string
}

/** A recipe parameter as declared in src-main/recipes (for forms and validation). */
export type RecipeParamInfo = { name: string; description: string } & (
  | { type: 'number' | 'integer'; default: number; min?: number; max?: number }
  | { type: 'boolean'; default: boolean }
  | { type: 'choice'; choices: string[]; default: string }
)

export interface RecipeInfo {
  name: string
  title: string
  /** One paragraph for the UI and --help. */
  summary: string
  paper: { title: string; authors: string; year: number; arxiv?: string; url: string } | null
  params: RecipeParamInfo[]
  /** The recipe runs the frozen base model in every step too (an extra forward pass). */
  usesBaseModel: boolean
}

/** What a model folder is, and whether it can be trained here. */
export interface ModelValidation {
  path: string
  /** No errors: the folder can be registered and trained. */
  ok: boolean
  architecture: string | null
  parameterCount: number | null
  /** Weight dtypes, e.g. "F32" or "BF16" ("+"-joined when mixed). */
  dtype: string | null
  maxPositionEmbeddings: number | null
  hasTokenizer: boolean
  /** 'model': the tokenizer's own chat template; 'fallback': none, the plain User:/Assistant: one is used. */
  chatTemplate: 'model' | 'fallback' | null
  /** Each names the file and what is wrong with it. */
  errors: string[]
  warnings: string[]
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
    /** Samples left out, with why (sampleId null for rows that are not store samples). The first 200. */
    dropped: { sampleId: number | null; line: number; reason: string }[]
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
  estimate: {
    /** Bytes, float32 training: frozen weights, trainable tensors, their gradients + optimizer state, activations. */
    memory: { weights: number; trainable: number; optimizer: number; activations: number; total: number }
    secondsPerStep: number
    totalSeconds: number
    /** How the numbers were obtained (measured tokens/s of an earlier run, or the FLOP heuristic). */
    basis: string
  }
}

export interface RunComparison {
  runs: RunSummary[]
  /** One series per run and metric, points in step order. */
  series: { runId: number; name: string; points: { step: number; value: number }[] }[]
  /** Only the settings that differ between the runs: dotted key → value per run id (null = unset). */
  configDiff: { key: string; values: Record<string, unknown> }[]
}

export interface SystemResources {
  at: string
  cpu: { cores: number; model: string; machinePercent: number; processPercent: number }
  memory: {
    machineTotalBytes: number
    machineUsedBytes: number
    /** This process (the one serving the API). */
    processRssBytes: number
    /** The training processes this process owns (Linux only; 0 elsewhere). */
    trainingRssBytes: number
  }
  /** From `nvidia-smi`; null when the command does not exist (no NVIDIA driver). */
  gpus:
    | {
        index: number
        name: string
        memoryUsedBytes: number
        memoryTotalBytes: number
        utilizationPercent: number
      }[]
    | null
  /** Why nvidia-smi exists but could not be read; null otherwise. */
  gpuError: string | null
}

export interface MetricPoint {
  step: number
  name: string
  value: number
}

// ---------------------------------------------------------------------------------------------
// Evaluation: tasks in the lm-evaluation-harness convention, the checkpoint × task matrix, the arena
// ---------------------------------------------------------------------------------------------

/** What an evaluation measures: a registered base model, or a checkpoint a run saved. */
export type EvalTargetRef = { baseModelId: number } | { checkpointId: number }

/** A PEFT adapter folder made outside the store's runs, over the registered base model it adapts. */
export interface EvalAdapterRef {
  baseModelId: number
  adapterDir: string
}

export type EvalOutputType = 'multiple_choice' | 'generate_until' | 'loglikelihood' | 'loglikelihood_rolling'

export interface EvalTaskInfo {
  /** A built-in's name (gsm8k, mmlu, …) or the task file's `task` / `group`. */
  name: string
  title: string
  /** The task file (a built-in's lies in resources/benchmarks/). */
  file: string
  builtin: boolean
  kind: 'task' | 'group'
  /** The output type of the task, or of a group's members (all share one in the built-ins). */
  outputType: EvalOutputType
  /** Documents evaluated (a group's: all its members'). */
  size: number
  /** A group's member tasks; empty for a task. */
  tasks: string[]
  numFewshot: number
  /** Metric keys as lm-eval's results name them (`acc,none`, `exact_match,strict-match`); the first is the headline. */
  metrics: string[]
}

/** A task file as read, with the first documents rendered as the model will see them. */
export interface EvalTaskPreview extends EvalTaskInfo {
  /** sha256 of the task file, the files it includes and its data. */
  hash: string
  examples: { index: number; task: string; prompt: string; choices: string[] | null; target: string }[]
}

export interface EvalSettings {
  /** Only the first N documents of each task (null: all). */
  limit: number | null
  /** Overrides the task's num_fewshot (null: the task's). */
  numFewshot: number | null
  /** Render each prompt with the model's chat template (lm-eval's --apply_chat_template). */
  applyChatTemplate: boolean
  systemInstruction: string | null
  /** Seed of the few-shot sampler (lm-eval's default 1234) and of sampled generation. */
  seed: number
  /** Items scored per engine run (null: as many as fit the engine's token budget). */
  batchSize: number | null
  /** generate_until only: ask the model to review its answer, then score both answers. */
  selfCorrection: { reviewPrompt: string } | null
  device: 'cpu' | 'cuda'
}

export interface MetricScore {
  value: number
  /** Standard error as lm-eval reports it (null where it has none). */
  stderr: number | null
  higherIsBetter: boolean
}

export type EvaluationStatus = 'queued' | 'running' | 'completed' | 'failed' | 'interrupted'

export interface EvaluationSummary {
  id: number
  name: string
  /** The task's name (`benchmark` for the evaluations before tasks existed). */
  task: string
  kind: 'task' | 'self_correction' | 'benchmark'
  runId: number | null
  checkpointId: number | null
  baseModelId: number | null
  /** The checkpoint's step, or null for a base model. */
  step: number | null
  /** What was evaluated: `base:<id>`, `checkpoint:<id>` or `adapter:<base id>:<hash>` (one key per weights). */
  targetKey: string
  /** The model, or `<run name> @ step N`. */
  targetLabel: string
  status: EvaluationStatus
  error: string | null
  /** Every metric by its key, with its standard error. */
  scores: Record<string, MetricScore>
  /** The key of the task's headline metric (the matrix shows it). */
  primaryMetric: string | null
  itemCount: number
  createdAt: string
  finishedAt: string | null
}

export interface EvaluationDetail extends EvaluationSummary {
  taskFile: string | null
  taskHash: string | null
  settings: EvalSettings | null
}

/** What a model answered for one document, once (EvalItem.answer) or again after review (EvalItem.review). */
export interface EvalAnswer {
  /** The generated text (generate_until); null for log-likelihood tasks. */
  output: string | null
  /** The chosen choice's index (multiple choice) or the filtered answer (generation). */
  prediction: string | number | null
  correct: boolean | null
}

export interface EvalItem {
  /** The document's index, prefixed by its member task in a group (`mmlu_anatomy/12`). */
  key: string
  task: string
  index: number
  /** The rendered prompt (few-shot examples included). */
  prompt: string
  choices: string[] | null
  /** Summed log-probability of each choice's continuation (multiple choice). */
  logprobs: number[] | null
  target: string
  answer: EvalAnswer
  /** Per-document metric values by key. */
  metrics: Record<string, number>
  /** Self-correction: the answer after the review prompt. */
  review: EvalAnswer | null
}

export interface EvalItemPage {
  total: number
  items: EvalItem[]
}

export type EvalItemChange = 'improved' | 'regressed' | 'both_correct' | 'both_wrong'

/** One document as two evaluations of the same task answered it. */
export interface EvalItemPair {
  key: string
  task: string
  index: number
  prompt: string
  choices: string[] | null
  target: string
  a: EvalAnswer
  b: EvalAnswer
  change: EvalItemChange
}

export interface EvaluationDiff {
  a: EvaluationSummary
  b: EvaluationSummary
  counts: Record<EvalItemChange, number>
  /** Items of the asked change kinds, in document order. */
  total: number
  items: EvalItemPair[]
}

/** Targets × tasks: each cell the headline metric of the newest completed evaluation. */
export interface EvalMatrix {
  tasks: { task: string; metric: string; higherIsBetter: boolean }[]
  rows: {
    key: string
    label: string
    baseModelId: number | null
    checkpointId: number | null
    runId: number | null
    step: number | null
  }[]
  cells: { row: string; task: string; evaluationId: number; value: number; stderr: number | null }[]
  /** With runId: each task's headline metric over the run's checkpoints, by step. */
  series: {
    task: string
    metric: string
    points: { step: number; value: number; stderr: number | null; evaluationId: number }[]
  }[]
}

export type ArenaVote = 'left' | 'right' | 'tie' | 'both_bad'

/** Two answers to one prompt, shown in random order; who wrote which is revealed after the vote. */
export interface ArenaBattle {
  id: number
  prompt: string
  left: { output: string; label: string | null }
  right: { output: string; label: string | null }
  vote: ArenaVote | null
  createdAt: string
  votedAt: string | null
}

export interface ArenaStanding {
  /** `base:<id>` or `checkpoint:<id>`. */
  key: string
  label: string
  battles: number
  wins: number
  losses: number
  ties: number
  bothBad: number
  /** (wins + draws / 2) / battles, where ties and "both bad" are draws. */
  winRate: number
  /** Bradley–Terry rating on the Elo scale (1000 = the mean), with a 95 % bootstrap interval. */
  rating: number
  ratingLow: number
  ratingHigh: number
}

/** Why a generation ended: its token budget, an end-of-sequence token, a stop string, or a cancel. */
export type GenerateFinishReason = 'length' | 'eos' | 'stop' | 'aborted'

export interface GenerateOutput {
  /** The job that generated (its job.output events carried the text as it came). */
  jobId: string
  /** The generated text, without the prompt (and without a stop string that ended it). */
  text: string
  finishReason: GenerateFinishReason
  /** New tokens generated (an end-of-sequence token that stopped generation counts). */
  tokenCount: number
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

// --- Dataset schemas ---------------------------------------------------------------------------

const split = z.enum(['train', 'validation', 'test'])
const sampleId = id
const toolCallSchema = z
  .object({
    id: z.string().optional(),
    type: z.literal('function').default('function'),
    function: z
      .object({
        name: z.string().min(1),
        arguments: z.union([z.string(), z.record(z.string(), z.unknown())])
      })
      .strict()
  })
  .strict()
const messageSchema = z
  .object({
    role: z.enum(['system', 'user', 'assistant', 'tool']),
    content: z.string(),
    loss_weight: z.number().min(0).max(1000).optional(),
    tool_calls: z.array(toolCallSchema).optional(),
    tool_call_id: z.string().optional(),
    name: z.string().optional(),
    reasoning_content: z.string().optional(),
    metadata: z.record(z.string(), z.unknown()).optional()
  })
  .strict()
/** A conversation as an editor sends it (see Conversation). */
export const conversationSchema = z
  .object({
    messages: z.array(messageSchema).min(1),
    tools: z.array(z.unknown()).optional(),
    rejected: z.array(messageSchema).min(1).optional(),
    metadata: z.record(z.string(), z.unknown()).optional()
  })
  .strict()

const importFormat = z.enum(['messages', 'sharegpt', 'alpaca', 'prompt-completion', 'preference'])
const importMappingSchema = z
  .object({
    format: importFormat,
    columns: z
      .object({
        messages: z.string().min(1),
        conversations: z.string().min(1),
        tools: z.string().min(1),
        system: z.string().min(1),
        instruction: z.string().min(1),
        input: z.string().min(1),
        output: z.string().min(1),
        history: z.string().min(1),
        prompt: z.string().min(1),
        completion: z.string().min(1),
        chosen: z.string().min(1),
        rejected: z.string().min(1),
        reasoning: z.string().min(1)
      })
      .partial()
      .strict()
      .default({})
  })
  .strict()
const importSource = {
  path: z.string().min(1),
  fileType: z.enum(['auto', 'jsonl', 'json', 'csv', 'parquet']).default('auto'),
  /** 'auto' detects the format; `mapping`, when given, wins over both. */
  format: z
    .enum(['auto', 'messages', 'sharegpt', 'alpaca', 'prompt-completion', 'preference'])
    .default('auto'),
  mapping: importMappingSchema.optional()
}
const tagList = z.array(z.string().trim().min(1).max(100)).max(100)
export const sampleFilterSchema = z
  .object({
    search: z.string().max(1000).optional(),
    regex: z.string().min(1).max(1000).optional(),
    regexFlags: z
      .string()
      .regex(/^[imsu]*$/, 'regexFlags may hold only i, m, s and u')
      .optional(),
    tags: tagList.optional(),
    excludeTags: tagList.optional(),
    untagged: z.boolean().optional(),
    split: split.optional(),
    minMessages: z.number().int().min(0).optional(),
    maxMessages: z.number().int().min(0).optional(),
    hasRole: z.enum(['system', 'user', 'assistant', 'tool']).optional(),
    tokenizer: z.string().min(1).optional(),
    minTokens: z.number().int().min(0).optional(),
    maxTokens: z.number().int().min(0).optional(),
    duplicate: z.enum(['exact', 'near', 'any']).optional(),
    edited: z.boolean().optional(),
    minRating: z.number().int().optional(),
    maxRating: z.number().int().optional(),
    deleted: z.enum(['exclude', 'include', 'only']).optional(),
    preference: z.boolean().optional()
  })
  .strict()
const sortColumn = z.enum([
  'id',
  'createdAt',
  'updatedAt',
  'rating',
  'split',
  'tags',
  'messageCount',
  'tokenCount',
  'revision',
  'sourceLine',
  'prompt',
  'response'
])
const bulkActionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('tag'), tags: tagList.min(1) }).strict(),
  z.object({ kind: z.literal('untag'), tags: tagList.min(1) }).strict(),
  z.object({ kind: z.literal('setSplit'), split }).strict(),
  z.object({ kind: z.literal('rate'), rating: z.number().int().min(-1000).max(1000).nullable() }).strict(),
  z.object({ kind: z.literal('delete') }).strict(),
  z.object({ kind: z.literal('restore') }).strict()
])
const editor = {
  /** Who made the change, for the sample's history. */
  author: z.string().max(200).default('user'),
  note: z.string().max(2000).default('')
}
/** A base model's tokenizer and template; absent means the embedded default model. */
const baseModel = { baseModelId: id.optional() }
/** Exactly one source for an export: a frozen version, or a dataset's live samples (filtered). */
const exportSource = {
  versionId: id.optional(),
  datasetId: id.optional(),
  filter: sampleFilterSchema.default({})
}

// --- Run schemas -------------------------------------------------------------------------------

const device = z.enum(['cpu', 'cuda'])

/** A built-in task's name, or the path of a task file (YAML or JSON, lm-evaluation-harness convention). */
const evalTaskRef = z.string().trim().min(1).max(4096)

export const evalTargetRef = z.union([
  z.object({ baseModelId: id }).strict(),
  z.object({ checkpointId: id }).strict()
])

/** Evaluations also take an adapter folder; the arena and generation do not (they load stored weights only). */
const evalAdapterRef = z.object({ baseModelId: id, adapterDir: z.string().trim().min(1).max(4096) }).strict()

export const evalSettingsSchema = z
  .object({
    limit: z.number().int().min(1).max(1_000_000).nullable().default(null),
    numFewshot: z.number().int().min(0).max(64).nullable().default(null),
    applyChatTemplate: z.boolean().default(false),
    systemInstruction: z.string().max(20_000).nullable().default(null),
    seed: z.number().int().min(0).default(1234),
    batchSize: z.number().int().min(1).max(4096).nullable().default(null),
    selfCorrection: z
      .object({
        reviewPrompt: z
          .string()
          .trim()
          .min(1)
          .max(5000)
          .default('Review your previous answer and correct it if needed.')
      })
      .strict()
      .nullable()
      .default(null),
    device: device.default('cpu')
  })
  .strict()
  .default({
    limit: null,
    numFewshot: null,
    applyChatTemplate: false,
    systemInstruction: null,
    seed: 1234,
    batchSize: null,
    selfCorrection: null,
    device: 'cpu'
  })

export const DEFAULT_BENCHMARK_LIMIT = 50

/** Benchmarks during training: every `every` steps (0: only at the end) and at the end, on `limit` documents. */
export const benchmarkPlanSchema = z
  .object({
    tasks: z.array(evalTaskRef).min(1).max(8),
    every: z.number().int().min(0).default(0),
    limit: z.number().int().min(1).max(100_000).nullable().default(DEFAULT_BENCHMARK_LIMIT)
  })
  .strict()

/** Everything that decides a run: base model, dataset version, recipe and settings (runs.start, runs.preflight). */
export const runSettingsSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    baseModelId: id,
    datasetVersionId: id,
    recipe: z.string().min(1).default('sft'),
    recipeParams: z.record(z.string(), z.union([z.number(), z.boolean(), z.string()])).default({}),
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
    device: device.default('cpu')
  })
  .strict()
  .refine((v) => v.maxSteps === undefined || v.epochs === undefined, {
    message: 'give maxSteps or epochs, not both'
  })
const runId = z.object({ id }).strict()

export const calls = {
  'system.info': call<SystemInfo>()('Product, version, store location and engine device.', noInput),
  'system.resources': call<SystemResources>()(
    'CPU and memory use of this machine and process, and GPU memory/utilisation where nvidia-smi exists.',
    noInput
  ),

  'datasets.list': call<DatasetSummary[]>()('Datasets with their latest version.', noInput),
  'datasets.create': call<DatasetSummary>()(
    'Create an empty dataset.',
    z
      .object({ name: z.string().trim().min(1).max(200), description: z.string().max(5000).default('') })
      .strict()
  ),

  'datasets.cutVersion': call<DatasetVersionSummary>()(
    'Freeze the dataset as it is now into an immutable version identified by a content hash.',
    z.object({ id, note: z.string().max(5000).default('') }).strict()
  ),
  'datasets.versions': call<DatasetVersionSummary[]>()(
    'Versions of a dataset, newest first.',
    z.object({ id }).strict()
  ),

  'datasets.get': call<DatasetDetail>()(
    'One dataset with its sample counts per split, tags and edit counts.',
    z.object({ id }).strict()
  ),
  'datasets.update': call<DatasetSummary>()(
    'Rename a dataset or change its description.',
    z
      .object({
        id,
        name: z.string().trim().min(1).max(200).optional(),
        description: z.string().max(5000).optional()
      })
      .strict()
  ),
  'datasets.delete': call<{ deleted: boolean }>()(
    'Delete a dataset with its samples and versions (refused while a run uses one of its versions).',
    z.object({ id }).strict()
  ),
  'datasets.previewImport': call<ImportPreview>()(
    'Read the first rows of a file, detect its format and column mapping, and show them normalised.',
    z.object({ ...importSource, limit: z.number().int().min(1).max(200).default(20) }).strict()
  ),
  'datasets.import': call<ImportResult>()(
    'Import a JSONL, JSON, CSV or Parquet file into a dataset (created if needed). Runs as a job of kind ' +
      '"dataset.import" (job.progress events); the call answers when it ends. All rows or none.',
    z
      .object({
        ...importSource,
        datasetId: id.optional(),
        datasetName: z.string().trim().min(1).max(200).optional(),
        split: split.default('train'),
        tags: tagList.default([]),
        onBadRows: z.enum(['skip', 'abort']).default('abort'),
        cutVersion: z.boolean().default(false),
        note: z.string().max(5000).default('')
      })
      .strict()
      .refine((v) => (v.datasetId === undefined) !== (v.datasetName === undefined), {
        message: 'give exactly one of datasetId and datasetName'
      })
  ),
  'datasets.samples': call<SamplePage>()(
    "A window of a dataset's samples matching a filter, sorted, with the total count (for a virtualised table).",
    z
      .object({
        id,
        filter: sampleFilterSchema.default({}),
        sort: z
          .object({ column: sortColumn, direction: z.enum(['asc', 'desc']).default('asc') })
          .strict()
          .default({ column: 'id', direction: 'asc' }),
        /** Which tokenizer's counts fill SampleRow.tokenCount (and the tokenCount sort). */
        tokenizer: z.string().min(1).optional(),
        /** Count every match of a search, however many (see SamplePage.totalExact). */
        exactTotal: z.boolean().optional(),
        ...page
      })
      .strict()
  ),
  'datasets.sampleIds': call<number[]>()(
    'Ids of every sample matching a filter, in id order (to select all for a bulk action).',
    z.object({ id, filter: sampleFilterSchema.default({}) }).strict()
  ),
  'datasets.sample': call<SampleDetail>()(
    'One sample with its whole conversation.',
    z.object({ sampleId, tokenizer: z.string().min(1).optional() }).strict()
  ),
  'datasets.addSample': call<SampleDetail>()(
    'Add a sample written by hand.',
    z
      .object({
        id,
        conversation: conversationSchema,
        split: split.default('train'),
        tags: tagList.default([]),
        author: editor.author
      })
      .strict()
  ),
  'datasets.updateSample': call<SampleDetail>()(
    'Edit a sample (conversation, tags, split, rating); the change becomes a new revision.',
    z
      .object({
        sampleId,
        conversation: conversationSchema.optional(),
        tags: tagList.optional(),
        split: split.optional(),
        rating: z.number().int().min(-1000).max(1000).nullable().optional(),
        ...editor
      })
      .strict()
  ),
  'datasets.undoSample': call<SampleDetail>()(
    'Undo the last change of a sample: a new revision equal to the one before it.',
    z.object({ sampleId, author: editor.author }).strict()
  ),
  'datasets.revertSample': call<SampleDetail>()(
    'Bring a sample back to one of its revisions (as a new revision).',
    z.object({ sampleId, revision: z.number().int().min(1), author: editor.author }).strict()
  ),
  'datasets.sampleHistory': call<SampleRevisionInfo[]>()(
    'Every revision of a sample, oldest first, with who changed what and when.',
    z.object({ sampleId }).strict()
  ),
  'datasets.bulk': call<{ changed: number }>()(
    'Apply one action (tag, untag, set split, rate, delete, restore) to many samples, in one transaction.',
    z
      .object({
        id,
        sampleIds: z.array(sampleId).min(1).max(2_000_000),
        action: bulkActionSchema,
        author: editor.author
      })
      .strict()
  ),
  'datasets.duplicates': call<DuplicateReport>()(
    'Exact-duplicate groups (same content), or the near-duplicate groups found by the last datasets.findNearDuplicates.',
    z.object({ id, kind: z.enum(['exact', 'near']) }).strict()
  ),
  'datasets.findNearDuplicates': call<DuplicateReport & { jobId: string }>()(
    'Find near-duplicate groups with MinHash over word shingles and LSH banding (job "dataset.near-duplicates").',
    z
      .object({
        id,
        threshold: z.number().min(0.3).max(1).default(0.8),
        shingleWords: z.number().int().min(1).max(10).default(3),
        numHashes: z.number().int().min(16).max(512).default(128)
      })
      .strict()
  ),
  'datasets.stats': call<DatasetStats>()(
    'Role statistics, message counts and (when counted) the token-length histogram of the live samples.',
    z
      .object({
        id,
        tokenizer: z.string().min(1).optional(),
        bins: z.number().int().min(1).max(200).default(30)
      })
      .strict()
  ),
  'datasets.countTokens': call<TokenCountResult>()(
    'Count the tokens of every live sample with a base model\'s chat template and tokenizer (job "dataset.count-tokens").',
    z.object({ id, ...baseModel }).strict()
  ),
  'datasets.templatePreview': call<TemplatePreview>()(
    "Render a sample (or a conversation being edited) with a base model's chat template, trained spans marked.",
    z
      .object({
        sampleId: sampleId.optional(),
        conversation: conversationSchema.optional(),
        /** For preference samples: render the chosen or the rejected conversation. */
        side: z.enum(['chosen', 'rejected']).default('chosen'),
        ...baseModel
      })
      .strict()
      .refine((v) => (v.sampleId === undefined) !== (v.conversation === undefined), {
        message: 'give exactly one of sampleId and conversation'
      })
  ),
  'datasets.preflight': call<PreflightReport>()(
    'List live samples that render empty, exceed the maximum length, or have no trainable tokens (job "dataset.preflight").',
    z
      .object({
        id,
        ...baseModel,
        /** Default: the model's context (max_position_embeddings). */
        maxLength: z.number().int().min(8).max(1_000_000).optional()
      })
      .strict()
  ),
  'datasets.assignSplits': call<SplitResult>()(
    'Assign train/validation/test splits at random with a seed, optionally stratified by tag.',
    z
      .object({
        id,
        seed: z.number().int().min(0).default(0),
        ratios: z
          .object({
            train: z.number().min(0).max(1),
            validation: z.number().min(0).max(1),
            test: z.number().min(0).max(1)
          })
          .strict()
          .refine((r) => Math.abs(r.train + r.validation + r.test - 1) < 1e-6, {
            message: 'ratios must add up to 1'
          }),
        stratifyByTag: z.boolean().default(false),
        filter: sampleFilterSchema.default({}),
        author: editor.author
      })
      .strict()
  ),
  'datasets.versionSamples': call<{ total: number; offset: number; rows: VersionSampleRow[] }>()(
    'A window of the samples frozen in a dataset version.',
    z.object({ versionId: id, split: split.optional(), ...page }).strict()
  ),
  'datasets.export': call<ExportResult>()(
    'Write a version, or a dataset\'s live samples matching a filter, to a JSONL file (job "dataset.export").',
    z
      .object({
        ...exportSource,
        format: z.enum(['messages', 'sharegpt', 'alpaca']).default('messages'),
        path: z.string().min(1),
        overwrite: z.boolean().default(false)
      })
      .strict()
      .refine((v) => (v.versionId === undefined) !== (v.datasetId === undefined), {
        message: 'give exactly one of versionId and datasetId'
      })
  ),

  'models.list': call<ModelListing[]>()('Registered base models, with the context each reads.', noInput),
  'models.register': call<{ jobId: string }>()(
    'Register an HF model folder as a base model. Hashes the weights in a job; the model appears when it ends.',
    z.object({ path: z.string().min(1), name: z.string().trim().min(1).max(200).optional() }).strict()
  ),
  'models.validate': call<ModelValidation>()(
    'Check a model folder without registering it: architecture, parameter count, dtype, tokenizer, chat template.',
    z.object({ path: z.string().min(1) }).strict()
  ),
  'models.generate': call<GenerateOutput>()(
    'Generate text after a prompt with a base model or a run\'s checkpoint (job "engine.generate"); the ' +
      'text streams as job.output events tagged with requestId, and the call answers when it ends. ' +
      'Cancel it with jobs.cancel: the answer then holds the text so far, finishReason "aborted".',
    z
      .object({
        baseModelId: id.optional(),
        checkpointId: id.optional(),
        /** '' starts from the BOS token alone. */
        prompt: z.string().max(1_000_000),
        /** Wrap the prompt as a user turn of the model's chat template. */
        chat: z.boolean().default(true),
        maxNewTokens: z.number().int().min(1).max(4096).default(128),
        /** 0 = greedy decoding. */
        temperature: z.number().min(0).max(5).default(0.7),
        topP: z.number().gt(0).max(1).optional(),
        topK: z.number().int().min(1).optional(),
        seed: z.number().int().min(0).default(0),
        /** Generation stops before any of these texts appears. */
        stop: z.array(z.string().min(1).max(200)).max(16).optional(),
        /**
         * Chosen by the client and echoed in this generation's job.output events, so that a client
         * can follow its own stream (and learn the jobId to cancel) before the call answers.
         */
        requestId: z.string().min(1).max(100).optional()
      })
      .strict()
      .refine((v) => (v.baseModelId === undefined) !== (v.checkpointId === undefined), {
        message: 'give exactly one of baseModelId and checkpointId'
      })
  ),

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
  'runs.compare': call<RunComparison>()(
    'Several runs side by side: their metric series and the settings that differ.',
    z
      .object({
        ids: z.array(id).min(2).max(12),
        metrics: z.array(z.string().min(1)).min(1).default(['loss', 'eval_loss'])
      })
      .strict()
  ),

  'recipes.list': call<RecipeInfo[]>()(
    'Every recipe the engine knows: explanation, paper, parameters with defaults and ranges.',
    noInput
  ),

  'evaluations.tasks': call<EvalTaskInfo[]>()(
    'The built-in evaluation tasks (resources/benchmarks): GSM8K, ARC, MMLU, MATH-500, story-requests.',
    noInput
  ),
  'evaluations.inspectTask': call<EvalTaskPreview>()(
    'Read a task (a built-in name or the path of a task file in the lm-evaluation-harness format) and ' +
      'render its first three documents as the model will see them.',
    z
      .object({
        task: evalTaskRef,
        numFewshot: z.number().int().min(0).max(64).optional(),
        applyChatTemplate: z.boolean().default(false),
        baseModelId: id.optional()
      })
      .strict()
  ),
  'evaluations.start': call<{ evaluations: EvaluationSummary[]; reused: number[]; jobId: string | null }>()(
    'Evaluate every target (base models, checkpoints, a base model with an adapter folder) on every task, in ' +
      'one job with progress. A target × task × settings already evaluated is reused (its id is in `reused`) ' +
      'unless `rerun` is set.',
    z
      .object({
        targets: z
          .array(z.union([evalTargetRef, evalAdapterRef]))
          .min(1)
          .max(32),
        tasks: z.array(evalTaskRef).min(1).max(32),
        settings: evalSettingsSchema,
        rerun: z.boolean().default(false)
      })
      .strict()
  ),
  'evaluations.list': call<EvaluationSummary[]>()(
    'Evaluations, newest first; optionally of one run (its checkpoints) or one task.',
    z.object({ runId: id.optional(), task: z.string().min(1).optional(), ...page }).strict()
  ),
  'evaluations.get': call<EvaluationDetail>()(
    'One evaluation with its task file, hash and settings.',
    z.object({ id }).strict()
  ),
  'evaluations.items': call<EvalItemPage>()(
    "An evaluation's documents in order: prompt, choices with log-probs, output, answer, target, correct.",
    z.object({ id, only: z.enum(['all', 'correct', 'wrong']).default('all'), ...page }).strict()
  ),
  'evaluations.diff': call<EvaluationDiff>()(
    'Two evaluations of the same task side by side, document by document; by default only the documents ' +
      'whose answer flipped between right and wrong.',
    z
      .object({
        a: id,
        b: id,
        only: z
          .array(z.enum(['improved', 'regressed', 'both_correct', 'both_wrong']))
          .min(1)
          .default(['improved', 'regressed']),
        ...page
      })
      .strict()
  ),
  'evaluations.matrix': call<EvalMatrix>()(
    "Targets × tasks with the headline metric ± stderr of each cell; with runId, that run's checkpoints " +
      'and its metric series over steps.',
    z.object({ runId: id.optional() }).strict()
  ),
  'evaluations.delete': call<{ deleted: boolean }>()(
    'Delete an evaluation with its items; refused while it runs.',
    z.object({ id }).strict()
  ),

  'arena.start': call<ArenaBattle>()(
    'Two models or checkpoints answer the same prompt (typed, or drawn from a dataset version); the ' +
      'answers come back as left and right in random order, their authors hidden until the vote.',
    z
      .object({
        a: evalTargetRef,
        b: evalTargetRef,
        prompt: z.string().min(1).max(20_000).optional(),
        datasetVersionId: id.optional(),
        chat: z.boolean().default(true),
        maxNewTokens: z.number().int().min(1).max(4096).default(128),
        temperature: z.number().min(0).max(5).default(0.7),
        seed: z.number().int().min(0).optional(),
        device: device.default('cpu')
      })
      .strict()
      .refine((v) => (v.prompt === undefined) !== (v.datasetVersionId === undefined), {
        message: 'give exactly one of prompt and datasetVersionId'
      })
  ),
  'arena.vote': call<ArenaBattle>()(
    'Vote on a battle: the left answer, the right one, a tie, or both bad. Reveals who wrote which.',
    z.object({ id, vote: z.enum(['left', 'right', 'tie', 'both_bad']) }).strict()
  ),
  'arena.battles': call<ArenaBattle[]>()('Arena battles, newest first.', z.object(page).strict()),
  'arena.leaderboard': call<ArenaStanding[]>()(
    'Every model or checkpoint that took part in a voted battle: win rate and Bradley–Terry rating with ' +
      'a 95 % bootstrap interval (ties and "both bad" count as draws).',
    noInput
  ),
  'arena.export': call<{ datasetId: number; versionId: number; pairs: number; skipped: number }>()(
    'Turn the votes with a winner into a preference dataset (prompt, chosen, rejected) and cut a version ' +
      'of it, ready for DPO; ties and "both bad" are skipped.',
    z.object({ name: z.string().trim().min(1).max(200) }).strict()
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
  /**
   * A piece of text a job streams (models.generate: each new piece as it is decoded, in order;
   * concatenated they are the answer's text). A generation first sends a piece with text '' as soon
   * as its job is queued, so that its client learns the jobId (to cancel) before any text comes.
   * `requestId` is the one the call was given, or null.
   */
  'job.output': { jobId: string; requestId: string | null; text: string }
  /**
   * Events about runs come from the process that owns the run. A process also relays, about twice a
   * second, the progress and status of runs another process (e.g. the CLI) trains in the same store.
   */
  'run.progress': RunProgress & { runId: number }
  'run.status': { runId: number; status: RunStatus; error: string | null }
  /** A line added to a run's log (see runs.log). */
  'run.log': RunLogLine
  /** An evaluation started, finished or failed (its scores are in evaluations.get). */
  'evaluation.status': { evaluationId: number; status: EvaluationStatus; error: string | null }
}
export type EventName = keyof Events
export const eventNames: EventName[] = [
  'job.progress',
  'job.status',
  'job.log',
  'job.output',
  'run.progress',
  'run.status',
  'run.log',
  'evaluation.status'
]

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
  /** Where a File the user picked or dropped lies on disk (Electron's webUtils.getPathForFile). */
  pathForFile(file: File): string
}

/** Evaluation: tasks in the lm-evaluation-harness convention and the checkpoint × task matrix. */
import { z } from 'zod'
import { call, device, id, noInput, page } from './shared'

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

/** A built-in task's name, or the path of a task file (YAML or JSON, lm-evaluation-harness convention). */
export const evalTaskRef = z.string().trim().min(1).max(4096)

export const evalTargetRef = z.union([
  z.object({ baseModelId: id }).strict(),
  z.object({ checkpointId: id }).strict()
])

/** Evaluations also take an adapter folder; the arena and generation do not (they load stored weights only). */
/** What a self-correction evaluation asks after the first answer; the self-correction-format recipe trains on it. */
export const DEFAULT_REVIEW_PROMPT = 'Review your previous answer and correct it if needed.'

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
        reviewPrompt: z.string().trim().min(1).max(5000).default(DEFAULT_REVIEW_PROMPT)
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

export const evaluationCalls = {
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
  )
} as const

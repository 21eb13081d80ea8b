/**
 * The text side of evaluation: what a task file says (TaskConfig), a task with its documents
 * (LoadedTask), the requests a runner sends to a model (EvalDocRequest), what the model answers
 * (EvalResponse), and the scores (DocScore, MetricAggregate). Nothing here touches a model: a
 * runner tokenises the requests, runs the engine and hands the responses back.
 */
import type { PythonRegex } from './python-regex'
import type { TaskTemplate } from './template'

export type OutputType = 'multiple_choice' | 'generate_until' | 'loglikelihood' | 'loglikelihood_rolling'

/** One row of a task's data: column → value. */
export type Doc = Readonly<Record<string, unknown>>

/** lm-eval's gold: a choice index (or several) for multiple choice, text (or several) otherwise. */
export type Target = number | string | readonly number[] | readonly string[]

export type DataFormat = 'json' | 'csv' | 'parquet'

export type MetricName =
  | 'acc'
  | 'acc_norm'
  | 'acc_bytes'
  | 'exact_match'
  | 'perplexity'
  | 'word_perplexity'
  | 'byte_perplexity'
  | 'bits_per_byte'
  /** Finetune Studio extension: MATH answers equal after lm-eval's hendrycks_math normalisation. */
  | 'math_equiv'
  /** Finetune Studio extension: the output mentions each named column's value as a whole word. */
  | 'mentions_all'

export interface ExactMatchOptions {
  ignoreCase: boolean
  ignorePunctuation: boolean
  ignoreNumbers: boolean
  regexesToIgnore: readonly PythonRegex[]
}

export type MetricSpec =
  | { metric: 'exact_match'; higherIsBetter: boolean; options: ExactMatchOptions }
  | { metric: 'mentions_all'; higherIsBetter: boolean; fields: readonly string[] }
  | { metric: Exclude<MetricName, 'exact_match' | 'mentions_all'>; higherIsBetter: boolean }

export type FilterStep =
  | { function: 'regex'; pattern: PythonRegex; groupSelect: number; fallback: string }
  /** Finetune Studio extension: the content of the last \boxed{…} / \fbox{…}. */
  | { function: 'boxed_answer'; fallback: string }
  | { function: 'take_first' | 'lowercase' | 'uppercase' | 'remove_whitespace' }

export interface FilterPipeline {
  name: string
  steps: readonly FilterStep[]
}

/** A doc_to_text / doc_to_target / doc_to_choice / description value as the file writes it. */
export type FieldSource = string | number | readonly unknown[]

export interface GenerationSettings {
  until: readonly string[]
  maxGenToks: number
  doSample: boolean
  temperature: number
}

export interface FewshotSettings {
  sampler: 'default' | 'first_n'
  /** The split few-shot examples come from (fewshot_config.split, else fewshot_split). */
  split: string | null
  /** Examples written in the task file itself (fewshot_config.samples). */
  samples: readonly Doc[] | null
  docToText: FieldSource
  docToTarget: FieldSource
  docToChoice: FieldSource | null
  targetDelimiter: string
  fewshotDelimiter: string
}

/** A task file, validated, with `include`s merged and defaults applied. */
export interface TaskConfig {
  task: string
  alias: string | null
  /** metadata.title, which Finetune Studio shows as the task's title. */
  title: string | null
  tags: readonly string[]
  outputType: OutputType
  dataFormat: DataFormat
  /** Split name → absolute path of its data file. */
  dataFiles: Readonly<Record<string, string>>
  testSplit: string | null
  validationSplit: string | null
  trainingSplit: string | null
  numFewshot: number
  fewshot: FewshotSettings
  docToText: FieldSource
  docToTarget: FieldSource
  docToChoice: FieldSource | null
  description: string
  targetDelimiter: string
  fewshotDelimiter: string
  generation: GenerationSettings | null
  filters: readonly FilterPipeline[]
  metrics: readonly MetricSpec[]
  metadata: Readonly<Record<string, unknown>>
}

/** A field resolved against the data's columns: a column, a template, or a constant. */
export type Field =
  | { kind: 'column'; column: string; key: string }
  | { kind: 'template'; template: TaskTemplate; key: string }
  | { kind: 'constant'; value: number | readonly unknown[]; key: string }

export interface PromptFields {
  docToText: Field
  docToTarget: Field
  docToChoice: Field | null
  description: Field | null
  targetDelimiter: string
  fewshotDelimiter: string
}

export interface LoadedTask {
  /** Absolute path of the task file. */
  file: string
  name: string
  config: TaskConfig
  /** sha256 (hex) over the task file, the files it includes and its data files. */
  hash: string
  /** The split evaluated: test_split, else validation_split. */
  evalSplit: string
  docs: readonly Doc[]
  /** The documents few-shot examples are drawn from (empty when the task has none). */
  fewshotPool: readonly Doc[]
  /** The split the pool is (null: fewshot_config.samples). */
  fewshotSplit: string | null
  /** The evaluated split's columns (lm-eval's `features`): a field naming one is a column. */
  columns: readonly string[]
  prompts: PromptFields
  fewshotPrompts: PromptFields
}

export interface AggregateSpec {
  metric: string
  /** Filters to aggregate; null: every filter a member task reports the metric under. */
  filters: readonly string[] | null
  weightBySize: boolean
}

export interface TaskGroup {
  file: string
  name: string
  alias: string | null
  title: string | null
  /** sha256 (hex) over the group file and its tasks' hashes. */
  hash: string
  tasks: readonly LoadedTask[]
  aggregates: readonly AggregateSpec[]
}

/** A chat turn handed to the runner's chat-template renderer. */
export interface ChatTurn {
  role: 'system' | 'user' | 'assistant'
  content: string
}

export interface BuildOptions {
  /** Overrides the task's num_fewshot. */
  numFewshot?: number
  /** Only the first `limit` documents. */
  limit?: number
  /** Seed of the few-shot sampler; lm-eval's default is 1234. */
  seed?: number
  /** lm-eval's --system_instruction. */
  systemInstruction?: string
  /**
   * lm-eval's --apply_chat_template: renders the turns with the model's chat template, ending
   * with the generation prompt. The task module does not know models, so the runner supplies it.
   */
  renderChat?: (turns: readonly ChatTurn[]) => string
  /** With renderChat: few-shot examples as separate user/assistant turns (lm-eval's default). */
  fewshotAsMultiturn?: boolean
}

export type EvalRequest =
  /** One context shared by the continuations; continuation i = target delimiter + choice i. */
  | { type: 'multiple_choice'; context: string; continuations: readonly string[] }
  | { type: 'loglikelihood'; context: string; continuation: string }
  | { type: 'loglikelihood_rolling'; text: string }
  | {
      type: 'generate_until'
      context: string
      until: readonly string[]
      maxGenToks: number
      doSample: boolean
      temperature: number
    }

export interface EvalDocRequest {
  /** The document's index in the evaluated split (lm-eval's doc_id). */
  index: number
  doc: Doc
  /** The context as the model sees it (loglikelihood_rolling: the text scored). */
  prompt: string
  /** Indices into the task's fewshotPool of the examples in the prompt, in order. */
  fewshot: readonly number[]
  target: Target
  choices?: readonly string[]
  /** With BuildOptions.renderChat: the turns the prompt was rendered from, to continue the conversation. */
  turns?: readonly ChatTurn[]
  request: EvalRequest
}

export type EvalResponse =
  /** Per continuation: summed log-probability and whether every token was the argmax. */
  | { type: 'multiple_choice'; logprobs: readonly number[]; greedy: readonly boolean[] }
  | { type: 'loglikelihood'; logprob: number; greedy: boolean }
  | { type: 'loglikelihood_rolling'; logprob: number }
  | { type: 'generate_until'; text: string }

/** A document's value of a metric: a number, or [log-likelihood, words or bytes] for the weighted kinds. */
export type MetricValue = number | readonly [number, number]

export interface FilterResult {
  /** The filter pipeline's name ("none" when the task has no filter_list). */
  filter: string
  /** Multiple choice: the argmax choice; generate_until: the filtered answer; otherwise null. */
  prediction: number | string | null
  /** Multiple choice: the argmax choice after dividing by each choice's length in characters. */
  predictionNorm?: number
  metrics: Readonly<Record<string, MetricValue>>
}

export interface DocScore {
  index: number
  /** The task's first metric under its first filter, when that metric is right-or-wrong. */
  correct: boolean | null
  results: readonly FilterResult[]
}

export interface MetricAggregate {
  metric: string
  filter: string
  value: number
  /** As lm-eval reports it; null where it reports "N/A" (a single document). */
  stderr: number | null
  higherIsBetter: boolean
  /** How many documents the value is over. */
  samples: number
}

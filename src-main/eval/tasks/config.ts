/**
 * Validating a task file's keys into a TaskConfig. Every key lm-eval defines that we support is
 * read with lm-eval's defaults; every other key is refused with the file and the key named, never
 * skipped: a task that silently lost its `process_docs` would score something else.
 *
 * Finetune Studio extensions (marked as such in errors and in docs/EVALUATION.md): the
 * `boxed_answer` filter and the `math_equiv` and `mentions_all` metrics.
 */
import { dirname, isAbsolute, resolve } from 'node:path'
import { describe, isMapping, KeyReader, type Values } from './key-reader'
import { PythonRegex } from './python-regex'
import type {
  DataFormat,
  Doc,
  FewshotSettings,
  FilterPipeline,
  FilterStep,
  GenerationSettings,
  MetricName,
  MetricSpec,
  OutputType,
  TaskConfig
} from './types'

const OUTPUT_TYPES: readonly OutputType[] = [
  'multiple_choice',
  'generate_until',
  'loglikelihood',
  'loglikelihood_rolling'
]
const DATA_FORMATS: readonly DataFormat[] = ['json', 'csv', 'parquet']

/** lm-eval's defaults (lm_eval/defaults.py, api/registry.py). */
const DEFAULT_MAX_GEN_TOKS = 256
const DEFAULT_METRICS: Record<OutputType, readonly MetricName[]> = {
  loglikelihood: ['perplexity', 'acc'],
  loglikelihood_rolling: ['word_perplexity', 'byte_perplexity', 'bits_per_byte'],
  multiple_choice: ['acc', 'acc_norm'],
  generate_until: ['exact_match']
}

interface MetricInfo {
  outputTypes: readonly OutputType[]
  /** lm-eval's aggregation name for the metric, the only one a task file may give. */
  aggregation: string
  higherIsBetter: boolean
  extension?: true
}

export const METRICS: Readonly<Record<MetricName, MetricInfo>> = {
  acc: { outputTypes: ['multiple_choice', 'loglikelihood'], aggregation: 'mean', higherIsBetter: true },
  acc_norm: { outputTypes: ['multiple_choice'], aggregation: 'mean', higherIsBetter: true },
  acc_bytes: { outputTypes: ['multiple_choice'], aggregation: 'mean', higherIsBetter: true },
  exact_match: {
    outputTypes: ['multiple_choice', 'generate_until'],
    aggregation: 'mean',
    higherIsBetter: true
  },
  perplexity: { outputTypes: ['loglikelihood'], aggregation: 'perplexity', higherIsBetter: false },
  word_perplexity: {
    outputTypes: ['loglikelihood_rolling'],
    aggregation: 'weighted_perplexity',
    higherIsBetter: false
  },
  byte_perplexity: {
    outputTypes: ['loglikelihood_rolling'],
    aggregation: 'weighted_perplexity',
    higherIsBetter: false
  },
  bits_per_byte: {
    outputTypes: ['loglikelihood_rolling'],
    aggregation: 'bits_per_byte',
    higherIsBetter: false
  },
  math_equiv: { outputTypes: ['generate_until'], aggregation: 'mean', higherIsBetter: true, extension: true },
  mentions_all: {
    outputTypes: ['generate_until'],
    aggregation: 'mean',
    higherIsBetter: true,
    extension: true
  }
}

const FILTER_FUNCTIONS = [
  'regex',
  'take_first',
  'lowercase',
  'uppercase',
  'remove_whitespace',
  'boxed_answer'
] as const

/** Keys lm-eval defines that would change what is evaluated and that we cannot honour. */
const UNSUPPORTED_KEYS: Record<string, string> = {
  process_docs: 'it runs Python code on the documents',
  process_results: 'it runs Python code to score',
  custom_dataset: 'it runs Python code to build the data',
  doc_to_image: 'multimodal tasks are not supported',
  doc_to_audio: 'multimodal tasks are not supported',
  use_prompt: 'promptsource prompts are not supported',
  gen_prefix: 'generation prefixes are not supported',
  dataset_name:
    'a Hub dataset configuration means nothing for local data_files; name the files in dataset_kwargs.data_files',
  doc_to_decontamination_query: 'decontamination is not supported',
  unsafe_code: 'tasks that execute model-written code are not supported'
}

const TASK_KEYS = new Set([
  'task',
  'task_alias',
  'tag',
  'dataset_path',
  'dataset_kwargs',
  'training_split',
  'validation_split',
  'test_split',
  'fewshot_split',
  'num_fewshot',
  'fewshot_config',
  'output_type',
  'doc_to_text',
  'doc_to_target',
  'doc_to_choice',
  'target_delimiter',
  'fewshot_delimiter',
  'description',
  'generation_kwargs',
  'filter_list',
  'metric_list',
  'metadata',
  'repeats',
  'should_decontaminate'
])

function readDataFiles(reader: KeyReader): Record<string, string> {
  const kwargs: KeyReader | undefined = reader.mapping('dataset_kwargs')
  if (!kwargs)
    reader.fail('dataset_kwargs', 'is required: dataset_kwargs.data_files names the data file of each split')
  kwargs.onlyKeys(new Set(['data_files']))
  const raw = kwargs.raw('data_files')
  const base = dirname(reader.file)
  const toPath = (path: string) => (isAbsolute(path) ? path : resolve(base, path))
  // Like the Hugging Face loaders, a single path is the "train" split.
  if (typeof raw === 'string') return { train: toPath(raw) }
  if (!isMapping(raw))
    return kwargs.fail('data_files', `must map each split to a file path, got ${describe(raw)}`)
  const files: Record<string, string> = {}
  for (const [split, path] of Object.entries(raw)) {
    if (typeof path !== 'string' || path === '') {
      return kwargs.fail(`data_files.${split}`, `must be a file path, got ${describe(path)}`)
    }
    files[split] = toPath(path)
  }
  if (Object.keys(files).length === 0) kwargs.fail('data_files', 'names no split')
  return files
}

function readGeneration(
  reader: KeyReader,
  outputType: OutputType,
  fewshotDelimiter: string
): GenerationSettings | null {
  const kwargs: KeyReader | undefined = reader.mapping('generation_kwargs')
  if (outputType !== 'generate_until') {
    if (kwargs) reader.fail('generation_kwargs', `applies to output_type generate_until, not ${outputType}`)
    return null
  }
  if (!kwargs)
    return { until: [fewshotDelimiter], maxGenToks: DEFAULT_MAX_GEN_TOKS, doSample: false, temperature: 0 }
  kwargs.onlyKeys(new Set(['until', 'max_gen_toks', 'do_sample', 'temperature']))
  return {
    until: kwargs.stringList('until') ?? [fewshotDelimiter],
    maxGenToks: kwargs.integer('max_gen_toks', DEFAULT_MAX_GEN_TOKS, 1),
    doSample: kwargs.boolean('do_sample', false),
    temperature: kwargs.number('temperature', 0)
  }
}

function compileRegex(reader: KeyReader, name: string, pattern: string): PythonRegex {
  try {
    return new PythonRegex(pattern)
  } catch (error) {
    return reader.fail(
      name,
      `the pattern ${JSON.stringify(pattern)} cannot be compiled: ${(error as Error).message} (patterns run on RE2: no look-around or back-references)`
    )
  }
}

function readFilterStep(reader: KeyReader): FilterStep {
  const fn = reader.raw('function')
  if (typeof fn !== 'string') reader.fail('function', `must name a filter, got ${describe(fn)}`)
  if (!(FILTER_FUNCTIONS as readonly string[]).includes(fn)) {
    reader.fail(
      'function',
      `unknown filter ${JSON.stringify(fn)}; supported: ${FILTER_FUNCTIONS.join(', ')} (boxed_answer is a Finetune Studio extension)`
    )
  }
  switch (fn) {
    case 'regex': {
      reader.onlyKeys(new Set(['function', 'regex_pattern', 'group_select', 'fallback']))
      const pattern = reader.string('regex_pattern', '#### (\\-?[0-9\\.\\,]+)')
      const groupSelect = reader.raw('group_select') ?? 0
      if (typeof groupSelect !== 'number' || !Number.isSafeInteger(groupSelect)) {
        reader.fail(
          'group_select',
          `must be a whole number (negative counts from the last match), got ${describe(groupSelect)}`
        )
      }
      return {
        function: 'regex',
        pattern: compileRegex(reader, 'regex_pattern', pattern),
        groupSelect,
        fallback: reader.string('fallback', '[invalid]')
      }
    }
    case 'boxed_answer':
      reader.onlyKeys(new Set(['function', 'fallback']))
      return { function: 'boxed_answer', fallback: reader.string('fallback', '[invalid]') }
    default:
      reader.onlyKeys(new Set(['function']))
      return { function: fn as 'take_first' | 'lowercase' | 'uppercase' | 'remove_whitespace' }
  }
}

function readFilters(reader: KeyReader, outputType: OutputType): FilterPipeline[] {
  const list = reader.list('filter_list')
  if (list === undefined) return [{ name: 'none', steps: [{ function: 'take_first' }] }]
  if (outputType !== 'generate_until')
    reader.fail('filter_list', `applies to output_type generate_until, not ${outputType}`)
  if (list.length === 0) reader.fail('filter_list', 'names no filter pipeline')
  const names = new Set<string>()
  return list.map((entry, i) => {
    const key = `filter_list[${i}]`
    if (!isMapping(entry))
      reader.fail(key, `must be a mapping with "name" and "filter", got ${describe(entry)}`)
    const pipeline: KeyReader = new KeyReader(reader.file, entry, reader.key(key))
    pipeline.onlyKeys(new Set(['name', 'filter']))
    const name = pipeline.requiredString('name')
    if (names.has(name))
      pipeline.fail('name', `the filter pipeline name ${JSON.stringify(name)} is used twice`)
    names.add(name)
    const steps = pipeline.list('filter')
    if (!steps || steps.length === 0) pipeline.fail('filter', 'must list the filter steps')
    return {
      name,
      steps: steps.map((step, j) => {
        if (!isMapping(step))
          pipeline.fail(`filter[${j}]`, `must be a mapping with "function", got ${describe(step)}`)
        return readFilterStep(new KeyReader(reader.file, step, pipeline.key(`filter[${j}]`)))
      })
    }
  })
}

function readMetric(reader: KeyReader, outputType: OutputType): MetricSpec {
  const name = reader.raw('metric')
  if (typeof name !== 'string') reader.fail('metric', `must name a metric, got ${describe(name)}`)
  if (!(name in METRICS)) {
    reader.fail(
      'metric',
      `unknown metric ${JSON.stringify(name)}; supported: ${Object.keys(METRICS).join(', ')} (math_equiv and mentions_all are Finetune Studio extensions)`
    )
  }
  const metric = name as MetricName
  const info = METRICS[metric]
  if (!info.outputTypes.includes(outputType)) {
    reader.fail(
      'metric',
      `${metric} applies to output_type ${info.outputTypes.join(' or ')}, not ${outputType}`
    )
  }
  const aggregation = reader.raw('aggregation')
  if (aggregation !== undefined && aggregation !== info.aggregation) {
    reader.fail('aggregation', `${metric} is aggregated by ${info.aggregation}, got ${describe(aggregation)}`)
  }
  const higherIsBetter = reader.boolean('higher_is_better', info.higherIsBetter)
  const common = new Set(['metric', 'aggregation', 'higher_is_better'])
  if (metric === 'exact_match') {
    // For multiple choice, exact_match is whether the gold continuation is the greedy one: no options.
    reader.onlyKeys(
      outputType === 'generate_until'
        ? new Set([...common, 'ignore_case', 'ignore_punctuation', 'ignore_numbers', 'regexes_to_ignore'])
        : common
    )
    const patterns = reader.stringList('regexes_to_ignore') ?? []
    return {
      metric,
      higherIsBetter,
      options: {
        ignoreCase: reader.boolean('ignore_case', false),
        ignorePunctuation: reader.boolean('ignore_punctuation', false),
        ignoreNumbers: reader.boolean('ignore_numbers', false),
        regexesToIgnore: patterns.map((pattern, i) =>
          compileRegex(reader, `regexes_to_ignore[${i}]`, pattern)
        )
      }
    }
  }
  if (metric === 'mentions_all') {
    reader.onlyKeys(new Set([...common, 'fields']))
    const fields = reader.stringList('fields')
    if (!fields || fields.length === 0)
      reader.fail(
        'fields',
        'mentions_all (a Finetune Studio extension) needs the columns whose values the output must mention'
      )
    return { metric, higherIsBetter, fields }
  }
  reader.onlyKeys(common)
  return { metric, higherIsBetter } as MetricSpec
}

function readMetrics(reader: KeyReader, outputType: OutputType): MetricSpec[] {
  const list = reader.list('metric_list')
  if (list === undefined) {
    return DEFAULT_METRICS[outputType].map((metric) =>
      readMetric(new KeyReader(reader.file, { metric }, reader.key('metric_list')), outputType)
    )
  }
  if (list.length === 0) reader.fail('metric_list', 'names no metric')
  const seen = new Set<string>()
  return list.map((entry, i) => {
    const key = `metric_list[${i}]`
    if (!isMapping(entry)) reader.fail(key, `must be a mapping with "metric", got ${describe(entry)}`)
    const spec = readMetric(new KeyReader(reader.file, entry, reader.key(key)), outputType)
    if (seen.has(spec.metric)) reader.fail(key, `the metric ${spec.metric} is listed twice`)
    seen.add(spec.metric)
    return spec
  })
}

function readSamples(reader: KeyReader): Doc[] | null {
  const samples = reader.list('samples')
  if (samples === undefined) return null
  samples.forEach((sample, i) => {
    if (!isMapping(sample))
      reader.fail(`samples[${i}]`, `must be a mapping of column to value, got ${describe(sample)}`)
  })
  return samples as Doc[]
}

function readFewshot(
  reader: KeyReader,
  inherited: Omit<FewshotSettings, 'sampler' | 'samples'>
): FewshotSettings {
  const config: KeyReader | undefined = reader.mapping('fewshot_config')
  if (!config) return { ...inherited, sampler: 'default', samples: null }
  config.onlyKeys(
    new Set([
      'sampler',
      'split',
      'samples',
      'doc_to_text',
      'doc_to_target',
      'doc_to_choice',
      'target_delimiter',
      'fewshot_delimiter'
    ]),
    {
      process_docs: UNSUPPORTED_KEYS.process_docs,
      gen_prefix: UNSUPPORTED_KEYS.gen_prefix,
      fewshot_indices: 'lm-eval itself does not apply it'
    }
  )
  return {
    sampler: config.oneOf('sampler', ['default', 'first_n'], 'default'),
    split: config.string('split') ?? inherited.split,
    samples: readSamples(config),
    docToText: config.field('doc_to_text', false) ?? inherited.docToText,
    docToTarget: config.field('doc_to_target', true) ?? inherited.docToTarget,
    docToChoice: config.field('doc_to_choice', true) ?? inherited.docToChoice,
    targetDelimiter: config.string('target_delimiter') ?? inherited.targetDelimiter,
    fewshotDelimiter: config.string('fewshot_delimiter') ?? inherited.fewshotDelimiter
  }
}

function readTitle(metadata: Values, reader: KeyReader): string | null {
  const title = metadata.title
  if (title === undefined || title === null) return null
  if (typeof title !== 'string') reader.fail('metadata.title', `must be text, got ${describe(title)}`)
  return title
}

/** A task file's keys (includes merged) as a TaskConfig; throws TaskFileError naming the key. */
export function parseTaskConfig(file: string, values: Values): TaskConfig {
  const reader: KeyReader = new KeyReader(file, values, '')
  reader.onlyKeys(TASK_KEYS, UNSUPPORTED_KEYS)
  if (reader.integer('repeats', 1, 1) !== 1)
    reader.fail('repeats', 'only 1 is supported (one answer per document)')
  if (reader.boolean('should_decontaminate', false))
    reader.fail('should_decontaminate', 'not supported: decontamination is not supported')
  const outputType = reader.oneOf('output_type', OUTPUT_TYPES, 'generate_until')
  const docToText = reader.field('doc_to_text', false)
  const docToTarget = reader.field('doc_to_target', true)
  if (docToText === undefined && outputType !== 'loglikelihood_rolling')
    reader.fail('doc_to_text', 'is required')
  if (docToTarget === undefined) reader.fail('doc_to_target', 'is required')
  const docToChoice = reader.field('doc_to_choice', true) ?? null
  if (outputType === 'multiple_choice' && docToChoice === null)
    reader.fail('doc_to_choice', 'is required for output_type multiple_choice')
  const targetDelimiter = reader.string('target_delimiter', ' ')
  const fewshotDelimiter = reader.string('fewshot_delimiter', '\n\n')
  const metadata = reader.mapping('metadata')?.values ?? {}
  const fewshotSplit = reader.string('fewshot_split') ?? null
  return {
    task: reader.requiredString('task'),
    alias: reader.string('task_alias') ?? null,
    title: readTitle(metadata, reader),
    tags: reader.stringList('tag') ?? [],
    outputType,
    dataFormat: reader.oneOf('dataset_path', DATA_FORMATS),
    dataFiles: readDataFiles(reader),
    testSplit: reader.string('test_split') ?? null,
    validationSplit: reader.string('validation_split') ?? null,
    trainingSplit: reader.string('training_split') ?? null,
    numFewshot: reader.integer('num_fewshot', 0, 0),
    fewshot: readFewshot(reader, {
      split: fewshotSplit,
      docToText: docToText ?? '',
      docToTarget,
      docToChoice,
      targetDelimiter,
      fewshotDelimiter
    }),
    docToText: docToText ?? '',
    docToTarget,
    docToChoice,
    description: reader.string('description', ''),
    targetDelimiter,
    fewshotDelimiter,
    generation: readGeneration(reader, outputType, fewshotDelimiter),
    filters: readFilters(reader, outputType),
    metrics: readMetrics(reader, outputType),
    metadata
  }
}

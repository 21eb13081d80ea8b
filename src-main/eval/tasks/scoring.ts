/**
 * Scoring one document from the model's response, as lm-eval's process_results does:
 *
 * - multiple choice: the prediction is the argmax of the choices' summed log-probabilities (acc);
 *   acc_norm divides each by its choice's length in characters (the choice text, without the
 *   target delimiter), acc_bytes by its length in UTF-8 bytes; exact_match is whether the gold
 *   continuation was the greedy one;
 * - loglikelihood: perplexity's per-document value is the log-likelihood, acc is greedy-or-not;
 * - loglikelihood_rolling: (log-likelihood, words) or (log-likelihood, bytes) pairs;
 * - generate_until: each filter pipeline turns the output into an answer, and every metric scores
 *   that answer against the target (with several targets, a match with any of them counts).
 */
import { boxedAnswer, mathAnswersEqual } from './math-answer'
import { pythonLength, pythonStrip, pythonWordCount, removeDigits, removePunctuation } from './python-text'
import type {
  Doc,
  DocScore,
  EvalDocRequest,
  EvalResponse,
  ExactMatchOptions,
  FilterPipeline,
  FilterResult,
  FilterStep,
  LoadedTask,
  MetricSpec,
  MetricValue
} from './types'

/** Metrics whose per-document value is 1 (right) or 0 (wrong). */
const RIGHT_OR_WRONG = new Set(['acc', 'acc_norm', 'acc_bytes', 'exact_match', 'math_equiv', 'mentions_all'])

/** lm-eval's regex filter: the selected match (a tuple's first non-empty group), stripped. */
function regexStep(step: FilterStep & { function: 'regex' }, text: string): string {
  const matches = step.pattern.findall(text)
  if (matches.length === 0) return step.fallback
  // Python indexing: negative counts from the end. lm-eval would raise past either end; we fall back.
  const at = step.groupSelect < 0 ? matches.length + step.groupSelect : step.groupSelect
  let match = matches[at]
  if (match === undefined) return step.fallback
  if (Array.isArray(match)) match = match.find((group) => group !== '') ?? step.fallback
  return pythonStrip(match as string)
}

function applyStep(step: FilterStep, text: string): string {
  switch (step.function) {
    case 'regex':
      return regexStep(step, text)
    case 'boxed_answer':
      return boxedAnswer(text) ?? step.fallback
    case 'take_first':
      // One response per document (repeats: 1): taking the first leaves it as it is.
      return text
    case 'lowercase':
      return text.toLowerCase()
    case 'uppercase':
      return text.toUpperCase()
    case 'remove_whitespace':
      return pythonStrip(text)
  }
}

/** The answer a filter pipeline extracts from a generated text. */
function applyFilters(pipeline: FilterPipeline, text: string): string {
  return pipeline.steps.reduce((current, step) => applyStep(step, current), text)
}

function normaliseForExactMatch(text: string, options: ExactMatchOptions): string {
  let result = text
  for (const pattern of options.regexesToIgnore) result = pattern.removeAll(result)
  if (options.ignoreCase) result = result.toLowerCase()
  if (options.ignorePunctuation) result = removePunctuation(result)
  if (options.ignoreNumbers) result = removeDigits(result)
  return result
}

/** lm-eval's exact_match (HF evaluate's): equal after the same normalisation of both sides. */
function exactMatch(prediction: string, reference: string, options: ExactMatchOptions): boolean {
  return normaliseForExactMatch(prediction, options) === normaliseForExactMatch(reference, options)
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** mentions_all's test, whole word and case-insensitive: "cat" is in "The cat sat" but not in "catch". */
export function mentions(text: string, word: string): boolean {
  return new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRegExp(word)}($|[^\\p{L}\\p{N}])`, 'iu').test(text)
}

/** The first index of the largest value (numpy's argmax). */
function argmax(values: readonly number[]): number {
  let best = 0
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i
  return best
}

function generationMetric(spec: MetricSpec, answer: string, targets: readonly string[], doc: Doc): number {
  switch (spec.metric) {
    case 'exact_match':
      return targets.some((target) => exactMatch(answer, target, spec.options)) ? 1 : 0
    case 'math_equiv':
      return targets.some((target) => mathAnswersEqual(answer, target)) ? 1 : 0
    case 'mentions_all':
      return spec.fields.every((field) => mentions(answer, String(doc[field]))) ? 1 : 0
    default:
      throw new Error(`scoreDoc: ${spec.metric} does not score generations`)
  }
}

function scoreGeneration(task: LoadedTask, request: EvalDocRequest, text: string): FilterResult[] {
  const targets = (Array.isArray(request.target) ? request.target : [request.target]).map(String)
  return task.config.filters.map((pipeline) => {
    const answer = applyFilters(pipeline, text)
    const metrics: Record<string, MetricValue> = {}
    for (const spec of task.config.metrics)
      metrics[spec.metric] = generationMetric(spec, answer, targets, request.doc)
    return { filter: pipeline.name, prediction: answer, metrics }
  })
}

function scoreMultipleChoice(
  task: LoadedTask,
  request: EvalDocRequest,
  logprobs: readonly number[],
  greedy: readonly boolean[]
): FilterResult {
  const choices = request.choices ?? []
  if (logprobs.length !== choices.length || greedy.length !== choices.length) {
    throw new Error(
      `scoreDoc: document ${request.index} has ${choices.length} choices, the response ${logprobs.length} log-probabilities and ${greedy.length} greedy flags`
    )
  }
  const gold = Array.isArray(request.target) ? (request.target as number[]) : [request.target as number]
  const prediction = argmax(logprobs)
  const predictionNorm = argmax(logprobs.map((lp, i) => lp / pythonLength(choices[i])))
  const predictionBytes = argmax(logprobs.map((lp, i) => lp / Buffer.byteLength(choices[i], 'utf8')))
  const values: Record<string, MetricValue> = {
    acc: gold.includes(prediction) ? 1 : 0,
    acc_norm: gold.includes(predictionNorm) ? 1 : 0,
    acc_bytes: gold.includes(predictionBytes) ? 1 : 0,
    exact_match: gold.some((g) => greedy[g]) ? 1 : 0
  }
  return { filter: 'none', prediction, predictionNorm, metrics: pick(values, task) }
}

function pick(values: Record<string, MetricValue>, task: LoadedTask): Record<string, MetricValue> {
  return Object.fromEntries(task.config.metrics.map((spec) => [spec.metric, values[spec.metric]]))
}

function filterResults(task: LoadedTask, request: EvalDocRequest, response: EvalResponse): FilterResult[] {
  if (response.type !== request.request.type) {
    throw new Error(
      `scoreDoc: document ${request.index} asked for ${request.request.type}, the response is ${response.type}`
    )
  }
  switch (response.type) {
    case 'multiple_choice':
      return [scoreMultipleChoice(task, request, response.logprobs, response.greedy)]
    case 'loglikelihood':
      return [
        {
          filter: 'none',
          prediction: null,
          metrics: pick({ perplexity: response.logprob, acc: response.greedy ? 1 : 0 }, task)
        }
      ]
    case 'loglikelihood_rolling': {
      const text = request.target as string
      const bytes = Buffer.byteLength(text, 'utf8')
      const values: Record<string, MetricValue> = {
        word_perplexity: [response.logprob, pythonWordCount(text)],
        byte_perplexity: [response.logprob, bytes],
        bits_per_byte: [response.logprob, bytes]
      }
      return [{ filter: 'none', prediction: null, metrics: pick(values, task) }]
    }
    case 'generate_until':
      return scoreGeneration(task, request, response.text)
  }
}

/** Scores one document: per filter pipeline, the prediction and each metric's value. */
export function scoreDoc(task: LoadedTask, request: EvalDocRequest, response: EvalResponse): DocScore {
  const results = filterResults(task, request, response)
  const first = task.config.metrics[0].metric
  const value = results[0].metrics[first]
  return { index: request.index, correct: RIGHT_OR_WRONG.has(first) ? value === 1 : null, results }
}

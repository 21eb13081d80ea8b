/**
 * benchmark_metric: a built-in benchmark's own scoring as a reward, so training optimises what the
 * evaluation room measures. The completion is scored as that task scores a generated answer
 * (eval/tasks/scoring.ts `scoreDoc`): its filter pipeline (e.g. GSM8K's strict-match regex
 * `#### (…)` or flexible-extract's last number) and then its metric (lm-eval's exact_match with
 * the task's regexes_to_ignore, math_equiv, mentions_all). The gold is the row's reference; the
 * row's metadata are the task's document columns (mentions_all reads them).
 */
import type { RecipeParams } from '../engine/train/loss-hook'
import { builtinTaskFile, loadTask, scoreDoc, type LoadedTask } from '../eval/tasks'
import { goldAnswer, REFERENCE_KEY_PARAM } from './gold'
import type { RewardFunction } from './types'

function taskFile(name: string): string {
  const file = builtinTaskFile(name)
  if (file === null) throw new Error(`no built-in benchmark is called ${JSON.stringify(name)}`)
  return file
}

/** The filter and metric a spec picks (empty: the task's first), or why the task cannot serve. */
function chosenScoring(task: LoadedTask, params: RecipeParams): { filter: string; metric: string } {
  if (task.config.outputType !== 'generate_until') {
    throw new Error(`parameter task: ${task.name} scores log-likelihoods, not generated text`)
  }
  const filters = task.config.filters.map((pipeline) => pipeline.name)
  const metrics: string[] = task.config.metrics.map((spec) => spec.metric)
  const filter = String(params.filter) || filters[0]
  const metric = String(params.metric) || metrics[0]
  if (!filters.includes(filter)) {
    throw new Error(
      `parameter filter: ${task.name} has no filter ${JSON.stringify(filter)}; it has ${filters.join(', ')}`
    )
  }
  if (!metrics.includes(metric)) {
    throw new Error(
      `parameter metric: ${task.name} has no metric ${JSON.stringify(metric)}; it has ${metrics.join(', ')}`
    )
  }
  return { filter, metric }
}

export const benchmarkMetric: RewardFunction = {
  name: 'benchmark_metric',
  title: 'Benchmark metric',
  description:
    'A built-in generation benchmark’s own scoring (its answer filter, then its metric, e.g. GSM8K’s ' +
    'strict-match exact_match): 1 or 0 as the evaluation room would score this completion against the gold.',
  paper: null,
  params: [
    {
      name: 'task',
      type: 'text',
      default: 'gsm8k',
      maxLength: 200,
      description: 'the built-in benchmark (a generation task: gsm8k, math500, story-requests)',
      check: (name) => void taskFile(name)
    },
    {
      name: 'filter',
      type: 'text',
      default: '',
      maxLength: 200,
      description: 'its filter pipeline (empty: the first)'
    },
    {
      name: 'metric',
      type: 'text',
      default: '',
      maxLength: 200,
      description: 'its metric (empty: the first)'
    },
    REFERENCE_KEY_PARAM
  ],
  async check(params) {
    chosenScoring(await loadTask(taskFile(String(params.task))), params)
  },
  async score(input, params, session) {
    const task = await session.task(taskFile(String(params.task)))
    const { filter, metric } = chosenScoring(task, params)
    const found = goldAnswer(input, params)
    // mentions_all reads the document's columns only; every other metric needs the gold.
    if ('missing' in found && metric !== 'mentions_all') return { value: 0, reason: found.missing }
    const target = 'gold' in found ? found.gold : ''
    const score = scoreDoc(
      task,
      {
        index: 0,
        doc: input.metadata,
        prompt: input.prompt,
        fewshot: [],
        target,
        request: {
          type: 'generate_until',
          context: input.prompt,
          until: [],
          maxGenToks: 0,
          doSample: false,
          temperature: 0
        }
      },
      { type: 'generate_until', text: input.completion }
    )
    const result = score.results.find((r) => r.filter === filter)
    const value = result?.metrics[metric]
    if (typeof value !== 'number') return { value: 0, reason: `${metric} gave no value` }
    return value === 1
      ? { value }
      : { value, reason: `${filter} extracted ${JSON.stringify(result?.prediction)}` }
  }
}

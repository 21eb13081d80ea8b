import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  aggregate,
  aggregateGroup,
  buildRequests,
  loadTask,
  loadTaskGroup,
  scoreDoc,
  type EvalResponse,
  type LoadedTask,
  type MetricAggregate
} from '../../../src-main/eval/tasks'
import { jsonl, useTaskFolders } from './helpers'

/**
 * Expected values come from lm-eval's aggregation functions (mean, mean_stderr, perplexity,
 * weighted_perplexity, bits_per_byte, bootstrap_stderr without multiprocessing,
 * pooled_sample_stderr) run in CPython 3.11 on the same numbers.
 */
describe('aggregating metrics as lm-eval does', () => {
  const folder = useTaskFolders()
  const HEAD =
    'dataset_path: json\ndataset_kwargs:\n  data_files:\n    test: test.jsonl\ntest_split: test\ndoc_to_text: q\n'

  async function scored(lines: string, docs: unknown[], responses: EvalResponse[]) {
    const dir = folder({ 'task.yaml': `task: t\n${HEAD}${lines}`, 'test.jsonl': jsonl(docs) })
    const task = await loadTask(join(dir, 'task.yaml'))
    return { task, scores: buildRequests(task).map((request, i) => scoreDoc(task, request, responses[i])) }
  }

  it('a mean metric: the mean and the sample standard deviation over √n', async () => {
    const docs = [1, 0, 1, 1, 0].map((right) => ({ q: 'Q', gold: right === 1 ? 0 : 1 }))
    const { task, scores } = await scored(
      'output_type: multiple_choice\ndoc_to_choice: ["a", "b"]\ndoc_to_target: gold\nmetric_list:\n  - metric: acc\n',
      docs,
      docs.map(() => ({ type: 'multiple_choice', logprobs: [-1, -2], greedy: [true, false] }))
    )
    expect(aggregate(task, scores)).toEqual({
      'acc,none': {
        metric: 'acc',
        filter: 'none',
        value: 0.6,
        stderr: 0.24494897427831783,
        higherIsBetter: true,
        samples: 5
      }
    })
    expect(aggregate(task, scores.slice(0, 1))['acc,none'].stderr).toBeNull()
  })

  it("perplexity: exp(−mean log-likelihood) with lm-eval's seeded bootstrap", async () => {
    const lls = [-1.0, -2.5, -0.3, -4.0, -1.7]
    const { task, scores } = await scored(
      'output_type: loglikelihood\ndoc_to_target: a\nmetric_list:\n  - metric: perplexity\n',
      lls.map(() => ({ q: 'Q', a: ' A' })),
      lls.map((logprob) => ({ type: 'loglikelihood', logprob, greedy: false }))
    )
    const result = aggregate(task, scores, { bootstrapIters: 2000 })['perplexity,none']
    expect(result.value).toBeCloseTo(6.6858944422792685, 12)
    expect(result.stderr).toBeCloseTo(5.16711200845309, 12)
    expect(result.higherIsBetter).toBe(false)
    expect(aggregate(task, scores, { bootstrapIters: 500 })['perplexity,none'].stderr).toBeCloseTo(
      5.371092705648349,
      12
    )
    expect(aggregate(task, scores, { bootstrapIters: 0 })['perplexity,none'].stderr).toBeNull()
  })

  it('word perplexity and bits per byte: weighted by words and bytes, bootstrapped the same way', async () => {
    // (log-likelihood, words or bytes): (-10, 4), (-3.5, 2), (-20.25, 9), (-1, 1)
    const lines =
      'output_type: loglikelihood_rolling\ndoc_to_target: text\nmetric_list:\n  - metric: word_perplexity\n  - metric: bits_per_byte\n'
    const responses: EvalResponse[] = [-10, -3.5, -20.25, -1].map((logprob) => ({
      type: 'loglikelihood_rolling',
      logprob
    }))
    const byWords = await scored(
      lines,
      ['a b c d', 'e f', 'g h i j k l m n o', 'p'].map((text) => ({ q: '', text })),
      responses
    )
    expect(byWords.scores.map((s) => s.results[0].metrics.word_perplexity)).toEqual([
      [-10, 4],
      [-3.5, 2],
      [-20.25, 9],
      [-1, 1]
    ])
    const words = aggregate(byWords.task, byWords.scores, { bootstrapIters: 2000 })['word_perplexity,none']
    expect(words.value).toBeCloseTo(8.774721228365038, 12)
    expect(words.stderr).toBeCloseTo(1.518610493994637, 12)
    const byBytes = await scored(
      lines,
      ['abcd', 'ef', 'ghijklmno', 'p'].map((text) => ({ q: '', text })),
      responses
    )
    const bpb = aggregate(byBytes.task, byBytes.scores, { bootstrapIters: 2000 })['bits_per_byte,none']
    expect(bpb.value).toBeCloseTo(3.1333532919307174, 12)
    expect(bpb.stderr).toBeCloseTo(0.31189260875869224, 12)
  })

  it("a group: its tasks' values weighted by size, with the pooled standard error", async () => {
    const member = (name: string) =>
      `task: ${name}\n${HEAD.replace('test.jsonl', `${name}.jsonl`)}output_type: multiple_choice\ndoc_to_choice: ["a"]\ndoc_to_target: 0\n`
    const doc = jsonl([{ q: 'Q' }])
    const dir = folder({
      'group.yaml':
        'group: g\ntask:\n  - t1\n  - t2.yaml\n  - t3\naggregate_metric_list:\n  - metric: acc\n    weight_by_size: true\n',
      'plain.yaml':
        'group: g\ntask: [t1, t2, t3]\naggregate_metric_list:\n  - metric: acc\n    weight_by_size: false\n',
      't1.yaml': member('t1'),
      't2.yaml': member('t2'),
      't3.json': JSON.stringify({
        task: 't3',
        dataset_path: 'json',
        dataset_kwargs: { data_files: { test: 't3.jsonl' } },
        test_split: 'test',
        doc_to_text: 'q',
        output_type: 'multiple_choice',
        doc_to_choice: ['a'],
        doc_to_target: 0
      }),
      't1.jsonl': doc,
      't2.jsonl': doc,
      't3.jsonl': doc
    })
    const group = await loadTaskGroup(join(dir, 'group.yaml'))
    expect(group.tasks.map((t: LoadedTask) => t.name)).toEqual(['t1', 't2', 't3'])
    const acc = (value: number, stderr: number, samples: number): Record<string, MetricAggregate> => ({
      'acc,none': { metric: 'acc', filter: 'none', value, stderr, higherIsBetter: true, samples },
      'acc_norm,none': {
        metric: 'acc_norm',
        filter: 'none',
        value: 0,
        stderr: 0,
        higherIsBetter: true,
        samples
      }
    })
    const perTask = {
      t1: acc(0.5, 0.2886751345948129, 4),
      t2: acc(0.75, 0.16366341767699427, 8),
      t3: acc(0.2, 0.2, 5)
    }
    expect(aggregateGroup(group, perTask)).toEqual({
      'acc,none': {
        metric: 'acc',
        filter: 'none',
        value: 0.5294117647058824,
        stderr: 0.1177520539884014,
        higherIsBetter: true,
        samples: 17
      }
    })
    const plain = await loadTaskGroup(join(dir, 'plain.yaml'))
    expect(aggregateGroup(plain, perTask)['acc,none'].value).toBeCloseTo(0.48333333333333334, 15)
  })
})

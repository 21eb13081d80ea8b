import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  buildRequests,
  loadTask,
  scoreDoc,
  type EvalDocRequest,
  type LoadedTask
} from '../../../src-main/eval/tasks'
import { jsonl, loadBuiltinTask, useTaskFolders } from './helpers'

describe('scoring a document as lm-eval does', () => {
  const folder = useTaskFolders()

  async function load(
    lines: string,
    docs: unknown[]
  ): Promise<{ task: LoadedTask; requests: EvalDocRequest[] }> {
    const head =
      'task: t\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: test.jsonl\ntest_split: test\ndoc_to_text: q\n'
    const dir = folder({ 'task.yaml': head + lines, 'test.jsonl': jsonl(docs) })
    const task = await loadTask(join(dir, 'task.yaml'))
    return { task, requests: buildRequests(task) }
  }

  const MC =
    'output_type: multiple_choice\ndoc_to_choice: choices\ndoc_to_target: gold\nmetric_list:\n  - metric: acc\n  - metric: acc_norm\n  - metric: acc_bytes\n  - metric: exact_match\n'

  it('multiple choice: acc by log-probability, acc_norm by characters, acc_bytes by UTF-8 bytes, exact_match by greediness', async () => {
    const { task, requests } = await load(MC, [{ q: 'Q', choices: ['ééé', 'abcd'], gold: 0 }])
    // per character: -1 vs -0.875 (choice 1); per byte: -0.5 vs -0.875 (choice 0).
    const score = scoreDoc(task, requests[0], {
      type: 'multiple_choice',
      logprobs: [-3, -3.5],
      greedy: [false, true]
    })
    expect(score).toEqual({
      index: 0,
      correct: true,
      results: [
        {
          filter: 'none',
          prediction: 0,
          predictionNorm: 1,
          metrics: { acc: 1, acc_norm: 0, acc_bytes: 1, exact_match: 0 }
        }
      ]
    })
  })

  it("multiple choice: acc_norm divides by the choice's length, not the continuation's (which has the delimiter)", async () => {
    const { task, requests } = await load(MC, [{ q: 'Q', choices: ['a', 'bbb'], gold: 1 }])
    expect(requests[0].request).toMatchObject({ continuations: [' a', ' bbb'] })
    // per choice character: -2 vs -1.67 (choice 1); per continuation character it would be -1 vs -1.25.
    const score = scoreDoc(task, requests[0], {
      type: 'multiple_choice',
      logprobs: [-2, -5],
      greedy: [true, false]
    })
    expect(score.results[0]).toMatchObject({
      prediction: 0,
      predictionNorm: 1,
      metrics: { acc: 0, acc_norm: 1 }
    })
  })

  it('multiple choice: the first of equal log-probabilities, and any of several gold choices', async () => {
    const { task, requests } = await load(MC.replace('doc_to_target: gold', 'doc_to_target: "[1, 2]"'), [
      { q: 'Q', choices: ['a', 'b', 'c'] }
    ])
    const tie = scoreDoc(task, requests[0], {
      type: 'multiple_choice',
      logprobs: [-2, -1, -1],
      greedy: [false, false, true]
    })
    expect(tie.results[0]).toMatchObject({ prediction: 1, metrics: { acc: 1, exact_match: 1 } })
  })

  it('refuses a response that does not fit the request', async () => {
    const { task, requests } = await load(MC, [{ q: 'Q', choices: ['a', 'b'], gold: 0 }])
    expect(() =>
      scoreDoc(task, requests[0], { type: 'multiple_choice', logprobs: [-1], greedy: [true] })
    ).toThrow(/2 choices, the response 1 log-probabilities/)
    expect(() => scoreDoc(task, requests[0], { type: 'generate_until', text: 'a' })).toThrow(
      /asked for multiple_choice, the response is generate_until/
    )
  })

  it('loglikelihood: perplexity takes the log-likelihood, acc whether the continuation is greedy', async () => {
    const { task, requests } = await load('output_type: loglikelihood\ndoc_to_target: a\n', [
      { q: 'Q', a: ' yes' }
    ])
    expect(
      scoreDoc(task, requests[0], { type: 'loglikelihood', logprob: -1.25, greedy: true }).results[0].metrics
    ).toEqual({ perplexity: -1.25, acc: 1 })
  })

  it('loglikelihood_rolling: words as Python splits on whitespace runs, bytes in UTF-8', async () => {
    const { task, requests } = await load('output_type: loglikelihood_rolling\ndoc_to_target: text\n', [
      { q: '', text: ' a  bé\nc ' }
    ])
    const score = scoreDoc(task, requests[0], { type: 'loglikelihood_rolling', logprob: -7 })
    // re.split(r"\s+", " a  bé\nc ") == ['', 'a', 'bé', 'c', '']
    expect(score).toEqual({
      index: 0,
      correct: null,
      results: [
        {
          filter: 'none',
          prediction: null,
          metrics: { word_perplexity: [-7, 5], byte_perplexity: [-7, 10], bits_per_byte: [-7, 10] }
        }
      ]
    })
  })

  it('generation: every filter pipeline, every metric, any of several targets', async () => {
    const lines = `output_type: generate_until
doc_to_target: "{{answers}}"
filter_list:
  - name: raw
    filter:
      - function: take_first
  - name: shout
    filter:
      - function: regex
        regex_pattern: "answer: (\\\\w+)"
        group_select: 1
        fallback: nothing
      - function: uppercase
  - name: tidy
    filter:
      - function: remove_whitespace
      - function: lowercase
metric_list:
  - metric: exact_match
    ignore_punctuation: true
`
    const { task, requests } = await load(lines, [{ q: 'Q', answers: ['Paris', 'paris!'] }])
    expect(requests[0].target).toEqual(['Paris', 'paris!'])
    const score = scoreDoc(task, requests[0], {
      type: 'generate_until',
      text: '  Answer: Paris. answer: Lyon '
    })
    expect(score.results).toEqual([
      { filter: 'raw', prediction: '  Answer: Paris. answer: Lyon ', metrics: { exact_match: 0 } },
      // group_select 1 is past the only match: lm-eval would raise; we fall back.
      { filter: 'shout', prediction: 'NOTHING', metrics: { exact_match: 0 } },
      { filter: 'tidy', prediction: 'answer: paris. answer: lyon', metrics: { exact_match: 0 } }
    ])
    const exact = scoreDoc(task, requests[0], { type: 'generate_until', text: ' paris ' })
    expect(exact.results.map((r) => r.metrics.exact_match)).toEqual([0, 0, 1])
  })

  it('story-requests: mentions_all wants the name and the animal as whole words, in any case', async () => {
    const task = await loadBuiltinTask('story-requests')
    const [request] = buildRequests(task, { limit: 1 })
    expect(request.doc).toMatchObject({ name: 'Lily', animal: 'fish' })
    const score = (text: string) =>
      scoreDoc(task, request, { type: 'generate_until', text }).results[0].metrics.mentions_all
    expect(score('Once upon a time, LILY the Fish swam.')).toBe(1)
    expect(score('Lily saw a fishbowl.')).toBe(0)
    expect(score('A fish swam.')).toBe(0)
  })
})

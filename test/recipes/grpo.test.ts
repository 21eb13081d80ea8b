/**
 * grpo's data: rollout rows as data.ts reads them (errors naming the file and the line), the groups
 * its groupRows checks (size, consecutive rows, shared prompt, completion length, rows that are not
 * rollouts), dynamic sampling's dropped groups, the rewards and old-policy log-probs its batchInputs
 * feeds, and the steps μ > 1 plans. The loss itself is checked against PyTorch in
 * test/engine/train/golden-grpo.test.ts, μ > 1 through the trainer in golden-grpo-iterations.test.ts.
 */
import { describe, expect, test } from 'vitest'
import { IGNORE_INDEX } from '../../src-main/engine/tokenizer/labels'
import { loadTokenizer } from '../../src-main/engine/tokenizer/tokenizer'
import { parseTrainingData, type TrainingData } from '../../src-main/engine/train/data'
import type { RecipeParams } from '../../src-main/engine/train/loss-hook'
import type { BatchUpdate } from '../../src-main/engine/train/run-hooks'
import { withRecipeRows } from '../../src-main/engine/train/recipe-rows'
import { resolveRecipe } from '../../src-main/recipes/index'
import { STORIES_260K } from '../helpers/temp'

const FILE = 'rollouts.jsonl'
const row = (group: unknown, reward: unknown, completion = [7, 8], prompt = [1, 5]) =>
  JSON.stringify({ prompt_ids: prompt, completion_ids: completion, reward, group })
const read = (lines: readonly string[], tokenizer = null as ReturnType<typeof loadTokenizer> | null) =>
  parseTrainingData(lines.join('\n'), FILE, { tokenizer, maxSeqLen: 64 })

/** The rows grpo trains from `lines`, with the given parameters. */
function grouped(lines: readonly string[], params: Record<string, unknown> = {}): TrainingData {
  const data = read(lines)
  const recipe = resolveRecipe('grpo', { group_size: 2, ...params })
  return withRecipeRows({ rowCount: data.rowCount, epoch: () => data }, recipe, FILE).epoch(0)
}

describe('rollout rows', () => {
  test('train prompt + completion with the completion labelled, reward and group carried', () => {
    const [example] = read([row('a', 0.5, [7, 8, 2], [1, 5, 6])]).examples
    expect([...example.inputIds]).toEqual([1, 5, 6, 7, 8, 2])
    expect([...example.labels]).toEqual([IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, 7, 8, 2])
    expect([...example.weights]).toEqual([0, 0, 0, 1, 1, 1])
    expect(example.rollout).toEqual({ reward: 0.5, group: 'a' })
  })

  test.each([
    [{ prompt_ids: [1], completion_ids: [2], group: 0 }, '"reward" must be a finite number, got nothing'],
    [
      { prompt_ids: [1], completion_ids: [2], reward: '1', group: 0 },
      '"reward" must be a finite number, got "1"'
    ],
    [
      { prompt_ids: [1], completion_ids: [2], reward: 1 },
      '"group" must be a string or an integer, got nothing'
    ],
    [{ prompt_ids: [], completion_ids: [2], reward: 1, group: 0 }, '"prompt_ids" is empty'],
    [{ prompt_ids: [1], completion_ids: [], reward: 1, group: 0 }, '"completion_ids" is empty'],
    [
      { prompt_ids: [1], completion_ids: [2, -3], reward: 1, group: 0 },
      'completion_ids[1] must be a non-negative integer, got number -3'
    ],
    [{ prompt_ids: [1], reward: 1, group: 0 }, '"completion_ids" must be an array of integers, got nothing']
  ])('a malformed rollout %j is refused naming the file and line', (value, reason) => {
    expect(() => read([row(0, 1), JSON.stringify(value)])).toThrow(
      `readTrainingData: line 2 of ${FILE}: ${reason}`
    )
  })

  test('ids outside the tokenizer’s vocabulary are refused naming the field, file and line', () => {
    const tokenizer = loadTokenizer(STORIES_260K)
    expect(() => read([row(0, 1, [7, 9999])], tokenizer)).toThrow(
      `readTrainingData: line 1 of ${FILE}: completion_ids[1] = 9999 is outside the vocabulary (size 512)`
    )
    expect(() => read([row(0, 1, [7], [1, 600])], tokenizer)).toThrow(
      `line 1 of ${FILE}: prompt_ids[1] = 600 is outside the vocabulary (size 512)`
    )
  })
})

describe('grpo groups', () => {
  test('consecutive rows of a group train together, in file order', () => {
    const data = grouped([row(0, 1), row(0, 0), row('b', 0.5, [9]), row('b', 1, [9, 9])])
    expect(data.examples.map((example) => [example.line, example.rollout!.group])).toEqual([
      [1, 0],
      [2, 0],
      [3, 'b'],
      [4, 'b']
    ])
  })

  test.each([
    [[row(0, 1), row(0, 0), row(0, 1)], 'line 1: group 0 has 3 rows, group_size is 2'],
    [
      [row(0, 1), row(1, 0), row(1, 1), row(0, 1)],
      'line 4: group 0 began at line 1 and another group came between'
    ],
    [
      [row(0, 1), row(0, 0, [7], [1, 6])],
      'line 2: its prompt_ids differ from those of line 1, the first row of group 0'
    ],
    [[row(0, 1), JSON.stringify({ input_ids: [1, 7], labels: [-100, 7] })], 'line 2 is not a rollout row']
  ])('a bad group is refused naming the file and line: %j', (lines, reason) => {
    expect(() => grouped(lines)).toThrow(`train: ${FILE}: grpo: ${reason}`)
  })

  test('a group left short by a row dropped while reading says which row and why', () => {
    // maxSeqLen 4 keeps line 3's long prompt only: nothing of its completion is left to train
    const cut = parseTrainingData(
      [row(0, 1), row(0, 0), row(1, 1, [7], [1, 5, 5, 5, 5]), row(1, 0)].join('\n'),
      FILE,
      { tokenizer: null, maxSeqLen: 4 }
    )
    const recipe = resolveRecipe('grpo', { group_size: 2 })
    expect(() => withRecipeRows({ rowCount: 4, epoch: () => cut }, recipe, FILE).epoch(0)).toThrow(
      `train: ${FILE}: grpo: line 4: group 1 has 1 rows, group_size is 2 (line 3 was dropped while reading: ` +
        'no trained tokens left after truncation to 4 tokens)'
    )
  })

  test('a completion longer than max_completion_length is refused with its line', () => {
    expect(() => grouped([row(0, 1), row(0, 0, [7, 8, 9])], { max_completion_length: 2 })).toThrow(
      'grpo: line 2: the completion has 3 tokens, more than max_completion_length 2'
    )
  })

  test('dynamic sampling drops the groups whose rewards are all equal, each row with why', () => {
    const lines = [row(0, 1), row(0, 1), row(1, 0), row(1, 1), row(2, 0.5), row(2, 0.5)]
    expect(grouped(lines).examples).toHaveLength(6)
    const data = grouped(lines, { dynamic_sampling: true })
    expect(data.examples.map((example) => example.line)).toEqual([3, 4])
    expect(data.dropped).toEqual([
      {
        line: 1,
        reason: 'dynamic sampling: every completion of group 0 has reward 1, so none has an advantage'
      },
      {
        line: 2,
        reason: 'dynamic sampling: every completion of group 0 has reward 1, so none has an advantage'
      },
      {
        line: 5,
        reason: 'dynamic sampling: every completion of group 2 has reward 0.5, so none has an advantage'
      },
      {
        line: 6,
        reason: 'dynamic sampling: every completion of group 2 has reward 0.5, so none has an advantage'
      }
    ])
  })

  /** What batchInputs feeds a micro-batch of two rows of 4 columns, on update `update` of it. */
  function inputsOf(update: BatchUpdate) {
    const { examples } = grouped([row(0, 1), row(0, -0.25)])
    const { hook, params } = resolveRecipe('grpo', { group_size: 2 })
    const rowExamples = examples.map((example) => [example])
    return hook.batchInputs!(
      null,
      { epoch: 0, columns: 4, update, rowLines: [[1], [2]], rowExamples },
      params as RecipeParams
    )
  }

  test('batchInputs feeds each row’s reward, and π_old = π on a batch’s first update', () => {
    expect(inputsOf({ index: 1, firstTokenLogProbs: null })).toEqual({
      reward: Float32Array.from([1, -0.25]),
      old_logprobs: new Float32Array(8),
      old_logprobs_given: Float32Array.of(0)
    })
  })

  test('batchInputs feeds the first update’s log-probs as π_old on the later updates', () => {
    const first = Float32Array.from([-1, -2, -3, 0, -4, -5, -6, 0])
    const inputs = inputsOf({ index: 3, firstTokenLogProbs: first })
    expect(inputs.old_logprobs).toBe(first)
    expect(inputs.old_logprobs_given).toEqual(Float32Array.of(1))
  })

  test('num_iterations is the updates each rollout batch trains for', () => {
    const { hook, params } = resolveRecipe('grpo', { group_size: 2, num_iterations: 3 })
    expect(hook.updatesPerBatch!(params)).toBe(3)
  })
})

/** Training rows → examples: the four row forms, normalisation, truncation, drops and errors. */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import {
  alpacaPrompt,
  exampleFromRow,
  parseTrainingData,
  parseTrainingRow,
  readTrainingData,
  type ExampleOptions,
  type TrainingExample
} from '../../../src-main/engine/train/data'
import { encodeChatForTraining, encodePromptCompletion } from '../../../src-main/engine/tokenizer/labels'
import { loadTokenizer } from '../../../src-main/engine/tokenizer/tokenizer'
import { STORIES_260K, tempDir } from '../../helpers/temp'

const stories = loadTokenizer(STORIES_260K)
const options: ExampleOptions = { tokenizer: stories, maxSeqLen: 256 }
const _ = -100

const list = (e: TrainingExample) => ({
  inputIds: Array.from(e.inputIds),
  labels: Array.from(e.labels),
  weights: Array.from(e.weights)
})

function onlyExample(row: unknown, opts: ExampleOptions = options): TrainingExample {
  const result = exampleFromRow(parseTrainingRow(row), 1, opts)
  if (result.examples.length !== 1) throw new Error(`not one example: ${result.dropReason}`)
  return result.examples[0]
}

describe('row forms', () => {
  test('{"messages"}: the chat template’s assistant labels, per-message loss_weight kept', () => {
    const messages = [
      { role: 'user', content: 'Tell me a story.' },
      { role: 'assistant', content: 'Once upon a time.', loss_weight: 0.5 },
      { role: 'user', content: 'More.' },
      { role: 'assistant', content: 'The end.' }
    ]
    const expected = encodeChatForTraining(stories, messages)
    const example = list(onlyExample({ messages }))
    expect(example.inputIds).toEqual(expected.inputIds)
    expect(example.labels).toEqual(expected.labels)
    expect(example.weights).toEqual(expected.weights)
    expect(new Set(example.weights.filter((w) => w > 0))).toEqual(new Set([0.5, 1]))
  })

  test('{"prompt","completion"} as text: bos + prompt + completion + eos, completion and eos trained', () => {
    const row = { prompt: 'The cat', completion: ' sat down.' }
    const expected = encodePromptCompletion(stories, row)
    const example = list(onlyExample(row))
    expect(example.inputIds).toEqual(expected.inputIds)
    expect(example.labels).toEqual(expected.labels)
    expect(example.labels.at(-1)).toBe(stories.eos!.id)
  })

  test('{"prompt","completion"} as messages: only the completion’s assistant turn trains', () => {
    const row = {
      prompt: [{ role: 'user', content: 'Hi' }],
      completion: [{ role: 'assistant', content: 'Hello there.' }]
    }
    const expected = encodePromptCompletion(stories, row)
    expect(list(onlyExample(row)).labels).toEqual(expected.labels)
  })

  test('Alpaca: the user turn is instruction + blank line + input, or the instruction alone', () => {
    expect(alpacaPrompt('Add the numbers.', '2 and 3')).toBe('Add the numbers.\n\n2 and 3')
    expect(alpacaPrompt('Say hi.', '')).toBe('Say hi.')
    const withInput = { instruction: 'Add the numbers.', input: '2 and 3', output: '5' }
    const expected = encodeChatForTraining(stories, [
      { role: 'user', content: 'Add the numbers.\n\n2 and 3', loss_weight: 0 },
      { role: 'assistant', content: '5' }
    ])
    expect(list(onlyExample(withInput))).toEqual({
      inputIds: expected.inputIds,
      labels: expected.labels,
      weights: expected.weights
    })
    const withoutInput = list(onlyExample({ instruction: 'Say hi.', output: 'Hi!' }))
    const expectedWithout = encodeChatForTraining(stories, [
      { role: 'user', content: 'Say hi.', loss_weight: 0 },
      { role: 'assistant', content: 'Hi!' }
    ])
    expect(withoutInput.inputIds).toEqual(expectedWithout.inputIds)
    expect(list(onlyExample({ instruction: 'Say hi.', input: '', output: 'Hi!' }))).toEqual(withoutInput)
  })

  test('pre-tokenized: labels kept as given (they may differ from the inputs), weights default to 1', () => {
    const example = list(onlyExample({ input_ids: [1, 50, 51, 52, 53], labels: [_, _, 51, 7, 53] }))
    expect(example).toEqual({
      inputIds: [1, 50, 51, 52, 53],
      labels: [_, _, 51, 7, 53],
      weights: [0, 0, 1, 1, 1]
    })
  })

  test('pre-tokenized rows need no tokenizer', () => {
    const example = onlyExample(
      { input_ids: [1, 2, 3], labels: [_, 2, 3] },
      { tokenizer: null, maxSeqLen: 8 }
    )
    expect(Array.from(example.labels)).toEqual([_, 2, 3])
  })
})

describe('normalisation', () => {
  test('the first token is never a target, and weight 0 means untrained', () => {
    const example = list(
      onlyExample({ input_ids: [5, 6, 7, 8], labels: [5, 6, 7, 8], weights: [1, 0, 2, 1] })
    )
    expect(example.labels).toEqual([_, _, 7, 8])
    expect(example.weights).toEqual([0, 0, 2, 1])
  })

  test('a weight on an unlabelled token is cleared', () => {
    const example = list(onlyExample({ input_ids: [5, 6, 7], labels: [_, _, 7], weights: [1, 1, 1] }))
    expect(example.weights).toEqual([0, 0, 1])
  })

  test('truncation keeps the start', () => {
    const row = parseTrainingRow({ input_ids: [1, 2, 3, 4, 5, 6], labels: [_, 2, 3, 4, 5, 6] })
    const result = exampleFromRow(row, 3, { tokenizer: null, maxSeqLen: 4 })
    expect(result.truncated).toBe(true)
    expect(Array.from(result.examples[0].inputIds)).toEqual([1, 2, 3, 4])
    expect(Array.from(result.examples[0].labels)).toEqual([_, 2, 3, 4])
    expect(result.examples[0].line).toBe(3)
  })

  test('an example with no trained token left is dropped with the reason', () => {
    const opts = { tokenizer: null, maxSeqLen: 3 }
    const cut = exampleFromRow(parseTrainingRow({ input_ids: [1, 2, 3, 4], labels: [_, _, _, 4] }), 1, opts)
    expect(cut).toEqual({
      examples: [],
      truncated: true,
      dropReason: 'no trained tokens left after truncation to 3 tokens'
    })
    const firstOnly = exampleFromRow(parseTrainingRow({ input_ids: [1, 2], labels: [1, _] }), 1, opts)
    expect(firstOnly.examples).toEqual([])
    expect(firstOnly).toMatchObject({ dropReason: 'no trained tokens' })
  })
})

describe('JSONL files', () => {
  const temp = tempDir('train-data-')
  afterAll(() => temp.cleanup())

  test('reads rows of every form, skips blank lines, counts truncated and dropped rows by line', () => {
    const file = join(temp.dir, 'train.jsonl')
    const rows = [
      {
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello.' }
        ]
      },
      { prompt: 'A', completion: ' story.' },
      { input_ids: [1, 2, 3], labels: [_, _, _] },
      { instruction: 'Say hi.', output: 'Hi!' },
      { input_ids: Array.from({ length: 70 }, (_, i) => i + 1), labels: new Array(70).fill(9) }
    ]
    const text = rows.map((r) => JSON.stringify(r)).join('\n')
    writeFileSync(file, `${text.replace('\n{"input_ids":[1,2,3]', '\n\n{"input_ids":[1,2,3]')}\n`)
    const data = readTrainingData(file, { tokenizer: stories, maxSeqLen: 64 })
    expect(data.rowCount).toBe(5)
    expect(data.examples.map((e) => e.line)).toEqual([1, 2, 5, 6])
    expect(data.dropped).toEqual([{ line: 4, reason: 'no trained tokens' }])
    expect(data.truncatedCount).toBe(1)
    expect(data.examples[3].inputIds).toHaveLength(64)
    expect(data.examples.slice(0, 3).every((e) => e.inputIds.length < 64)).toBe(true)
  })

  test('a missing file is named', () => {
    expect(() => readTrainingData(join(temp.dir, 'nope.jsonl'), options)).toThrow(
      /readTrainingData: cannot read .*nope\.jsonl/
    )
  })
})

describe('errors name the file, the line and the reason', () => {
  const parse = (lines: string[], opts: ExampleOptions = options) =>
    parseTrainingData(lines.join('\n'), 'train.jsonl', opts)
  const good = JSON.stringify({ prompt: 'a', completion: 'b' })

  test.each([
    ['{"messages": "hi"}', '"messages" must be an array, got "hi"'],
    ['{"messages": []}', '"messages" is empty'],
    ['{"messages": [{"role": "user"}]}', 'messages[0].content must be a string, got nothing'],
    [
      '{"messages": [{"role": "user", "content": "x", "loss_weight": -1}]}',
      'messages[0].loss_weight must be a finite number ≥ 0, got number -1'
    ],
    [
      '{"prompt": "a", "completion": ["b"]}',
      '"prompt" and "completion" must both be strings or both be message arrays'
    ],
    ['{"instruction": 3, "output": "x"}', '"instruction" must be a string, got number 3'],
    ['{"input_ids": [1, 2], "labels": [1]}', '"labels" has 1 entries, "input_ids" 2'],
    [
      '{"input_ids": [1, -2], "labels": [1, 2]}',
      'input_ids[1] must be a non-negative integer, got number -2'
    ],
    [
      '{"input_ids": [1, 2], "labels": [1, -5]}',
      'labels[1] must be a non-negative or -100 integer, got number -5'
    ],
    [
      '{"input_ids": [1, 2], "labels": [1, 2], "weights": [1, "x"]}',
      'weights[1] must be a finite number ≥ 0, got "x"'
    ],
    [
      '{"input_ids": [1, 999999], "labels": [1, 2]}',
      'input_ids[1] = 999999 is outside the vocabulary (size 512)'
    ],
    ['{"text": " \\n"}', '"text" is empty'],
    [
      '{"body": "free text"}',
      'expected {"messages"}, {"text"}, {"prompt","completion"}, {"instruction","input","output"}, {"input_ids","labels"} or {"prompt_ids","completion_ids","reward","group"}, got keys body'
    ],
    ['[1, 2]', 'a row must be a JSON object, got an array'],
    ['{"prompt": "a", ', 'invalid JSON']
  ])('%s', (line, reason) => {
    expect(() => parse([good, '', line])).toThrow(`readTrainingData: line 3 of train.jsonl: ${reason}`)
  })

  test('text rows without a tokenizer', () => {
    expect(() => parse([good], { tokenizer: null, maxSeqLen: 8 })).toThrow(
      'readTrainingData: line 1 of train.jsonl: a "prompt-completion" row needs a tokenizer'
    )
  })

  test('a bad maxSeqLen', () => {
    expect(() => parse([good], { tokenizer: stories, maxSeqLen: 1 })).toThrow(
      /maxSeqLen must be an integer ≥ 2, got 1/
    )
  })
})

describe('preference rows', () => {
  const tokens = (e: { inputIds: Int32Array; labels: Int32Array; weights: Float32Array }) =>
    list({ ...e, line: 0 })
  const prompt = [{ role: 'user', content: 'Tell me a story.' }]
  const chosen = [{ role: 'assistant', content: 'Once upon a time.' }]
  const rejected = [{ role: 'assistant', content: 'No.' }]

  test('the store’s {"messages", "rejected"} and two whole conversations give the same pair', () => {
    const stored = onlyExample({ messages: [...prompt, ...chosen], rejected })
    const whole = onlyExample({ chosen: [...prompt, ...chosen], rejected: [...prompt, ...rejected] })
    expect(list(stored)).toEqual(list(onlyExample({ messages: [...prompt, ...chosen] })))
    expect(tokens(stored.rejected!)).toEqual(list(onlyExample({ messages: [...prompt, ...rejected] })))
    expect(list(whole)).toEqual(list(stored))
    expect(tokens(whole.rejected!)).toEqual(tokens(stored.rejected!))
  })

  test('{"prompt", "chosen", "rejected"}: each side as prompt + completion', () => {
    const pair = onlyExample({ prompt: 'Once', chosen: ' upon a time', rejected: ' there was' })
    expect(list(pair)).toEqual(list(onlyExample({ prompt: 'Once', completion: ' upon a time' })))
    expect(tokens(pair.rejected!)).toEqual(list(onlyExample({ prompt: 'Once', completion: ' there was' })))
  })

  test('pre-tokenized pairs are read like pre-tokenized rows; a side without trained tokens drops the pair', () => {
    const pair = onlyExample({
      chosen: { input_ids: [1, 2, 3], labels: [_, 2, 3] },
      rejected: { input_ids: [1, 2, 4, 5], labels: [_, _, 4, 5], weights: [0, 0, 1, 0.5] }
    })
    expect(list(pair)).toEqual({ inputIds: [1, 2, 3], labels: [_, 2, 3], weights: [0, 1, 1] })
    expect(tokens(pair.rejected!)).toEqual({
      inputIds: [1, 2, 4, 5],
      labels: [_, _, 4, 5],
      weights: [0, 0, 1, 0.5]
    })
    const dropped = exampleFromRow(
      parseTrainingRow({
        chosen: { input_ids: [1, 2], labels: [_, 2] },
        rejected: { input_ids: [1, 2], labels: [_, _] }
      }),
      4,
      options
    )
    expect(dropped).toMatchObject({ examples: [], dropReason: 'rejected: no trained tokens' })
  })

  test('errors name the file, the line, the side and the value', () => {
    const file = 'pairs.jsonl'
    const parse = (row: unknown) =>
      parseTrainingData(`{"prompt":"a","completion":"b"}\n${JSON.stringify(row)}\n`, file, options)
    expect(() =>
      parse({
        chosen: { input_ids: [1, 2], labels: [_, 2] },
        rejected: { input_ids: [1, -3], labels: [_, 2] }
      })
    ).toThrow(
      'readTrainingData: line 2 of pairs.jsonl: "rejected": input_ids[1] must be a non-negative integer, got number -3'
    )
    expect(() => parse({ messages: [...prompt, ...chosen], rejected: 'No.' })).toThrow(
      'line 2 of pairs.jsonl: "rejected" must be an array, got "No."'
    )
    expect(() => parse({ rejected: rejected })).toThrow(
      'line 2 of pairs.jsonl: a row with "rejected" needs "messages" or "chosen" beside it'
    )
  })
})

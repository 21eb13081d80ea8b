/**
 * LLaMA-Factory v1 messages ({role, content: [{type, value}], loss_weight}) on its own demo files
 * (test/fixtures/datasets/llamafactory, see the README there): every part type lands where it
 * belongs, media parts are kept and reported, and export gives the same samples back.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { contentWithMedia, MEDIA_PARTS_KEY, sortContentParts } from '../../src-main/datasets/content-parts'
import { previewImport } from '../../src-main/datasets/import-preview'
import type { ImportMapping } from '../../src-preload/contract'
import { openTempStore } from '../store/helpers'
import {
  conversations,
  exported,
  FIXTURES,
  importWith,
  jsonlRows,
  mappingOf,
  reason
} from './fidelity-helpers'

const DIR = join(FIXTURES, 'llamafactory')
const MESSAGES: ImportMapping = { format: 'messages', columns: { messages: 'messages', tools: 'tools' } }
const V1_PAIRS: ImportMapping = {
  format: 'preference',
  columns: { chosen: 'chosen_messages', rejected: 'rejected_messages' }
}

describe('LLaMA-Factory v1 content parts', () => {
  it('reads reasoning and tool_call parts of the reasoning/tool-use demo', async () => {
    const store = openTempStore()
    const { datasetId, imported, warnings } = await importWith(
      store,
      join(DIR, 'reason_tool_use_demo_head8.jsonl'),
      MESSAGES,
      'tools'
    )
    expect(imported).toBe(8)
    expect(warnings).toEqual([])
    const [first, second, third] = conversations(store, datasetId)
    expect(first.messages[2].reasoning_content).toMatch(/^Okay, the user is asking for schools/)
    expect(first.messages[2].content).toMatch(/^I'm sorry, but the available tools/)
    // reasoning + one tool_call part: an assistant turn with empty content calling the tool.
    expect(second.messages[2]).toMatchObject({
      role: 'assistant',
      content: '',
      tool_calls: [
        { type: 'function', function: { name: 'get_movie_details', arguments: { title: 'Inception' } } }
      ]
    })
    expect(second.messages[2].reasoning_content).toMatch(/^Alright, the user wants information/)
    expect(second.messages[3]).toMatchObject({ role: 'tool' })
    expect(second.tools).toHaveLength(2)
    // Two tool_call parts: two calls, in order.
    expect(third.messages[2].tool_calls!.map((c) => c.function.arguments)).toEqual([
      { radius: 1.5 },
      { radius: 3 }
    ])
    // No part is left in metadata: every one was a field.
    expect(
      conversations(store, datasetId)
        .flatMap((c) => c.messages)
        .some((m) => m.metadata)
    ).toBe(false)
  })

  it('reads v1 DPO rows (chosen_messages / rejected_messages) as preference pairs', async () => {
    const store = openTempStore()
    const { datasetId, imported } = await importWith(store, join(DIR, 'v1_dpo_demo.jsonl'), V1_PAIRS, 'dpo')
    expect(imported).toBe(10)
    const [first] = conversations(store, datasetId)
    expect(first.messages.map((m) => [m.role, m.loss_weight])).toEqual([
      ['system', 0],
      ['user', 0],
      ['assistant', 1]
    ])
    expect(first.messages[2].content).toMatch(/^Abdulah Hasanagic is the proud owner/)
    expect(first.rejected).toEqual([
      { role: 'assistant', content: expect.stringMatching(/^ Abdulah Hasanagic/), loss_weight: 1 }
    ])
  })

  it('keeps image/video/audio parts as metadata at their place in the text, and warns', async () => {
    const store = openTempStore()
    const { datasetId, imported, warnings } = await importWith(
      store,
      join(DIR, 'v1_multimodal_demo.jsonl'),
      MESSAGES,
      'mm'
    )
    expect(imported).toBe(24)
    // Every row has one image in its first turn; 8 have a second in their third.
    expect(warnings).toEqual([
      'v1_multimodal_demo.jsonl: 32 messages hold image/video/audio parts, kept as metadata; ' +
        'the model is text-only and does not see them'
    ])
    const [first] = conversations(store, datasetId)
    expect(first.messages[0]).toEqual({
      role: 'user',
      content: 'Who are they?',
      metadata: {
        [MEDIA_PARTS_KEY]: [{ at: 0, part: { type: 'image_url', value: 'data/mllm_demo_data/1.jpg' } }]
      }
    })
    expect(first.messages[2].metadata).toEqual({
      [MEDIA_PARTS_KEY]: [{ at: 20, part: { type: 'image_url', value: 'data/mllm_demo_data/1.jpg' } }]
    })
    // The preview says it before anything is imported, over the rows it shows.
    const preview = await previewImport({
      file: join(DIR, 'v1_multimodal_demo.jsonl'),
      fileType: 'auto',
      format: 'auto',
      mapping: MESSAGES,
      limit: 3
    })
    expect(preview.notes.at(-1)).toMatch(
      /^v1_multimodal_demo\.jsonl: \d+ messages hold image\/video\/audio parts/
    )
  })

  it('writes the media parts back in place: a message with media is written as the demo has it', async () => {
    const store = openTempStore()
    const file = join(DIR, 'v1_multimodal_demo.jsonl')
    const { datasetId } = await importWith(store, file, MESSAGES, 'mm')
    const { rows, skipped } = exported(store, datasetId, 'messages')
    expect(skipped).toEqual([])
    type Message = { role: string; content: { type: string; value: string }[] }
    const source = jsonlRows(file).map((row) => row.messages as Message[])
    const written = rows.map((row) => row.messages as { role: string; content: unknown }[])
    let withMedia = 0
    source.forEach((messages, r) =>
      messages.forEach((message, m) => {
        const text = message.content.map((part) => (part.type === 'text' ? part.value : '')).join('')
        const hasMedia = message.content.some((part) => part.type !== 'text')
        if (hasMedia) withMedia++
        // Text alone is written as a string (OpenAI's form); media as the parts list it came in.
        expect(written[r][m]).toEqual({ role: message.role, content: hasMedia ? message.content : text })
      })
    )
    expect(withMedia).toBe(32)
  })

  it('turns tool_response parts into tool turns and keeps media offsets inside the text', async () => {
    const store = openTempStore()
    const { datasetId, warnings } = await importWith(
      store,
      join(DIR, 'v1_parts_written.jsonl'),
      MESSAGES,
      'w'
    )
    expect(warnings).toEqual([
      'v1_parts_written.jsonl: 2 messages hold image/video/audio parts, kept as metadata; ' +
        'the model is text-only and does not see them'
    ])
    const [media, weather, twoCities] = conversations(store, datasetId)
    expect(media.messages[0].content).toBe('Compare  with ; and listen: ')
    expect((media.messages[0].metadata![MEDIA_PARTS_KEY] as { at: number }[]).map((m) => m.at)).toEqual([
      8, 14, 28
    ])
    expect(media.messages[1]).toEqual({
      role: 'assistant',
      content: 'Both show celebrations.',
      reasoning_content: 'Two football photos and a clip.',
      loss_weight: 1
    })
    // A tool message of nothing but one tool_response part is that one tool turn.
    expect(weather.messages[2]).toEqual({ role: 'tool', content: '{"temp_c": 4}', loss_weight: 0 })
    // Text and two responses: the text's turn, then a tool turn per response.
    expect(twoCities.messages.slice(2, 5)).toEqual([
      { role: 'tool', content: 'Answers follow.', loss_weight: 0 },
      { role: 'tool', content: '{"temp_c": 4}', loss_weight: 0 },
      { role: 'tool', content: '{"temp_c": 7}', loss_weight: 0 }
    ])
  })

  it.each(['messages', 'sharegpt'] as const)(
    'round-trips every v1 demo through %s export without loss',
    async (format) => {
      const files: [string, ImportMapping][] = [
        ['reason_tool_use_demo_head8.jsonl', MESSAGES],
        ['v1_dpo_demo.jsonl', V1_PAIRS],
        ['v1_multimodal_demo.jsonl', MESSAGES],
        ['v1_parts_written.jsonl', MESSAGES]
      ]
      for (const [name, mapping] of files) {
        const store = openTempStore()
        const { datasetId } = await importWith(store, join(DIR, name), mapping, 'original')
        const { path, skipped } = exported(store, datasetId, format)
        expect(skipped).toEqual([])
        const again = await importWith(store, path, await mappingOf(path, 'auto'), 'again')
        expect(conversations(store, again.datasetId)).toEqual(conversations(store, datasetId))
      }
    }
  )

  it('refuses what it cannot place, naming the part', () => {
    expect(reason({ messages: [{ role: 'user', content: [{ type: 'pdf', value: 'x' }] }] }, MESSAGES)).toBe(
      '"messages"[0].content[0] is a part of the unknown type "pdf"'
    )
    expect(
      reason(
        {
          messages: [
            { role: 'user', content: 'q' },
            { role: 'assistant', content: [{ type: 'tool_call', value: '{"arguments": {}}' }] }
          ]
        },
        MESSAGES
      )
    ).toBe('"messages"[1].content tool_call part 1 has no function name')
    expect(
      reason(
        {
          messages: [
            { role: 'user', content: [{ type: 'tool_call', value: '{"name": "f", "arguments": {}}' }] },
            { role: 'assistant', content: 'a' }
          ]
        },
        MESSAGES
      )
    ).toBe('"messages"[0] is a user turn with tool_calls; only assistant turns call tools')
    expect(
      reason(
        {
          messages: [
            { role: 'user', content: 'q' },
            {
              role: 'assistant',
              content: [
                { type: 'reasoning', value: 'r' },
                { type: 'text', value: 'a' }
              ],
              reasoning: 'r2'
            }
          ]
        },
        MESSAGES
      )
    ).toBe('"messages"[1] has reasoning both in a reasoning key and in reasoning parts of its content')
  })
})

describe('contentWithMedia', () => {
  it('puts media parts back where they stood and is what sortContentParts reads back', () => {
    const parts = [
      { type: 'image_url', value: 'a.jpg' },
      { type: 'text', value: 'one ' },
      { type: 'audio_url', value: 'b.mp3' },
      { type: 'text', value: 'two' },
      { type: 'video_url', value: 'c.mp4' }
    ]
    const sorted = sortContentParts(parts, 'content')
    expect(sorted.text).toBe('one two')
    expect(contentWithMedia(sorted.text, sorted.media)).toEqual(parts)
  })

  it('writes OpenAI-style text parts beside OpenAI-style media, and clamps offsets past an edited text', () => {
    const media = [{ at: 40, part: { type: 'image_url', image_url: { url: 'x.png' } } }]
    expect(contentWithMedia('short', media)).toEqual([
      { type: 'text', text: 'short' },
      { type: 'image_url', image_url: { url: 'x.png' } }
    ])
  })
})

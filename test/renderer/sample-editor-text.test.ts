/**
 * The sample editor with the samples that are not plain conversations: a raw-text sample (one
 * text, no turns) and an unpaired preference (a label). An edit must send both back.
 */
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Conversation, SampleDetail } from '../../src-preload/contract'
import { normaliseConversation, useSampleEditorStore } from '../../src-renderer/src/stores/sampleEditor'
import { installScriptedBridge, ok } from './scripted-bridge'

const bridge = installScriptedBridge()

function detail(conversation: Conversation, revision = 1): SampleDetail {
  return {
    id: 9,
    split: 'train',
    tags: [],
    rating: null,
    revision,
    edited: revision > 1,
    deleted: false,
    messageCount: conversation.messages.length,
    roles: conversation.messages.map((m) => m.role),
    prompt: conversation.text ?? '',
    response: '',
    isPreference: false,
    tokenCount: null,
    exactDuplicates: 0,
    sourceLine: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    datasetId: 1,
    conversation,
    sourceFile: '/data/book.txt',
    contentHash: 'h',
    deletedAt: null
  }
}

beforeEach(() => {
  setActivePinia(createPinia())
  bridge.reset()
})

describe('useSampleEditorStore with raw text and labels', () => {
  it('edits a raw-text sample as its text and saves the text', async () => {
    bridge.handle('datasets.sample', () => ok(detail({ messages: [], text: 'Once upon a time.' })))
    bridge.handle('datasets.sampleHistory', () => ok([]))
    bridge.handle('datasets.updateSample', (input) => ok(detail(input.conversation as Conversation, 2)))
    bridge.handle('datasets.samples', () =>
      ok({ total: 0, totalExact: true, unindexed: 0, offset: 0, rows: [] })
    )
    const editor = useSampleEditorStore()
    await editor.open(9)
    expect(editor.dirty).toBe(false)
    editor.draft!.conversation.text = 'Once upon a time, there was a penguin.'
    expect(editor.dirty).toBe(true)
    expect(await editor.save()).toBe(true)
    expect(bridge.callsOf('datasets.updateSample')[0].conversation).toEqual({
      messages: [],
      text: 'Once upon a time, there was a penguin.'
    })
  })

  it('keeps an unpaired preference label through an edit', () => {
    const labelled: Conversation = {
      messages: [
        { role: 'user', content: 'The sky is' },
        { role: 'assistant', content: ' green.' }
      ],
      label: false
    }
    expect(normaliseConversation(labelled)).toEqual(labelled)
    expect(normaliseConversation({ messages: [], text: '' })).toEqual({ messages: [], text: '' })
  })
})

import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { exportRow, ExportSkip } from '../../src-main/datasets/export'
import { importFile } from '../../src-main/datasets/import'
import { previewImport } from '../../src-main/datasets/import-preview'
import { normaliseRow } from '../../src-main/datasets/normalise'
import { exportSamples } from '../../src-main/datasets/work'
import type { Store } from '../../src-main/store'
import { conversationSchema, type Conversation, type ExportFormat } from '../../src-preload/contract'
import { SHARED_DIR } from '../helpers/temp'
import { liveSamples, makeTempDir, openTempStore } from '../store/helpers'

const CHAT_DEMOS = join(SHARED_DIR, 'datasets', 'chat-demos')

async function importAuto(store: Store, file: string, datasetName: string): Promise<number> {
  const preview = await previewImport({ file, fileType: 'auto', format: 'auto', limit: 5 })
  const outcome = await importFile(store, {
    file,
    fileType: preview.fileType,
    mapping: preview.mapping!,
    datasetName,
    split: 'train',
    tags: [],
    onBadRows: 'abort',
    cutVersion: false,
    note: ''
  })
  if (!outcome.ok) throw new Error(outcome.message)
  return outcome.datasetId
}

function conversations(store: Store, datasetId: number): Conversation[] {
  return liveSamples(store, datasetId).map((s) => s.conversation)
}

describe('import → export → import', () => {
  // Each demo file, exported in its own format and in the messages format, imports back to the
  // very same conversations (same content hashes, same order).
  it.each([
    ['alpaca_en_demo.json', ['alpaca', 'messages', 'sharegpt']],
    ['glaive_toolcall_en_demo.json', ['sharegpt', 'messages']],
    ['fastchat_dummy_conversation.json', ['sharegpt', 'messages', 'alpaca']],
    ['dpo_en_demo.json', ['sharegpt', 'messages']],
    ['v1_sft_demo.jsonl', ['messages', 'sharegpt']]
  ] as [string, ExportFormat[]][])('round-trips %s through %j without loss', async (name, formats) => {
    const store = openTempStore()
    const dir = makeTempDir()
    const original = await importAuto(store, join(CHAT_DEMOS, name), 'original')
    const expected = conversations(store, original)
    for (const format of formats) {
      const path = join(dir, `${format}.jsonl`)
      const outcome = exportSamples(store, { source: { datasetId: original, filter: {} }, format, path })
      expect(outcome.skipped).toEqual([])
      expect(outcome.written).toBe(expected.length)
      const again = await importAuto(store, path, `again-${format}`)
      expect(conversations(store, again)).toEqual(expected)
    }
  })

  it('exports a frozen version: the messages lines are the stored conversations', async () => {
    const store = openTempStore()
    const original = await importAuto(store, join(CHAT_DEMOS, 'v1_sft_demo.jsonl'), 'v1')
    const version = store.datasets.cutVersion(original, 'v1')
    // Edits after the cut do not reach the version's export.
    const [first] = liveSamples(store, original, { limit: 1 })
    store.datasets.updateSample(first.id, {
      conversation: { messages: [{ role: 'assistant', content: 'changed' }] }
    })
    const path = join(makeTempDir(), 'v.jsonl')
    exportSamples(store, { source: { versionId: version.id }, format: 'messages', path })
    const lines = (await import('node:fs')).readFileSync(path, 'utf8').trim().split('\n')
    expect(lines).toHaveLength(500)
    expect(JSON.parse(lines[0])).toEqual({ messages: first.conversation.messages })
  })

  it('skips, with the reason, what Alpaca cannot express, and writes the rest', async () => {
    const store = openTempStore()
    const file = join(makeTempDir(), 'mixed.jsonl')
    const rows = [
      {
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: 'b' }
        ]
      },
      {
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: 'b', loss_weight: 0.5 }
        ]
      },
      {
        messages: [
          { role: 'assistant', content: 'hello first' },
          { role: 'user', content: 'then a question' }
        ]
      }
    ]
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n'))
    const datasetId = await importAuto(store, file, 'mixed')
    const outcome = exportSamples(store, {
      source: { datasetId, filter: {} },
      format: 'alpaca',
      path: join(makeTempDir(), 'out.jsonl')
    })
    expect(outcome.written).toBe(1)
    expect(outcome.skipped.map((s) => s.reason)).toEqual([
      'Alpaca has no per-turn loss_weight',
      'Alpaca needs alternating user/assistant turns; turn 1 is assistant'
    ])
    expect(() => exportRow({ messages: [{ role: 'user', content: 'x' }], rejected: [] }, 'alpaca')).toThrow(
      ExportSkip
    )
  })
})

describe('what users bring survives import → export', () => {
  /** Distilled reasoning data as it comes: reasoning on assistant turns, columns of its own. */
  const REASONING_ROWS = [
    {
      id: 'r-1',
      source: 'distilled',
      difficulty: 3,
      messages: [
        { role: 'user', content: 'What is 17 + 25?' },
        {
          role: 'assistant',
          content: '42',
          reasoning_content: '17 + 25: 7 + 5 = 12, carry 1; 1 + 2 + 1 = 4.'
        }
      ]
    },
    {
      id: 'r-2',
      source: 'distilled',
      difficulty: null,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Capital of France?', lang: 'en' },
        { role: 'assistant', content: 'Paris.', reasoning_content: 'A well-known fact.' },
        { role: 'user', content: 'And of Italy?' },
        { role: 'assistant', content: 'Rome.' }
      ]
    }
  ]

  function writeJsonl(rows: readonly unknown[]): string {
    const file = join(makeTempDir(), 'in.jsonl')
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n')
    return file
  }

  function exportedRows(store: Store, datasetId: number, format: ExportFormat): unknown[] {
    const path = join(makeTempDir(), `${format}.jsonl`)
    const outcome = exportSamples(store, { source: { datasetId, filter: {} }, format, path })
    expect(outcome.skipped).toEqual([])
    return readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
  }

  it('writes a messages file back as it came: reasoning, extra columns and message keys', async () => {
    const store = openTempStore()
    const datasetId = await importAuto(store, writeJsonl(REASONING_ROWS), 'reasoning')
    const [first] = conversations(store, datasetId)
    expect(first.metadata).toEqual({ id: 'r-1', source: 'distilled', difficulty: 3 })
    expect(first.messages[1].reasoning_content).toMatch(/^17 \+ 25/)
    // An edit sends the conversation through the API's schema: it must take all of it back.
    expect(conversationSchema.parse(first)).toEqual(first)
    expect(exportedRows(store, datasetId, 'messages')).toEqual(REASONING_ROWS)
  })

  it('writes a ShareGPT file back as it came, and carries the same samples through the other format', async () => {
    const shareGpt = REASONING_ROWS.map(({ messages, ...columns }) => ({
      ...columns,
      conversations: messages.map(({ role, content, ...keys }) => ({
        from: { system: 'system', user: 'human', assistant: 'gpt' }[role],
        value: content,
        ...keys
      }))
    }))
    const store = openTempStore()
    const fromShareGpt = await importAuto(store, writeJsonl(shareGpt), 'sharegpt')
    expect(exportedRows(store, fromShareGpt, 'sharegpt')).toEqual(shareGpt)
    const fromMessages = await importAuto(store, writeJsonl(REASONING_ROWS), 'messages')
    expect(conversations(store, fromShareGpt)).toEqual(conversations(store, fromMessages))
  })

  it("carries an Alpaca row's reasoning and columns, and skips reasoning Alpaca has no place for", async () => {
    const rows = [
      { instruction: 'Add 2 and 3.', input: '', output: '5', reasoning_content: '2 + 3 = 5', id: 9 }
    ]
    const store = openTempStore()
    const datasetId = await importAuto(store, writeJsonl(rows), 'alpaca')
    expect(conversations(store, datasetId)[0]).toEqual({
      messages: [
        { role: 'user', content: 'Add 2 and 3.' },
        { role: 'assistant', content: '5', reasoning_content: '2 + 3 = 5' }
      ],
      metadata: { id: 9 }
    })
    expect(exportedRows(store, datasetId, 'alpaca')).toEqual(rows)
    const earlyReasoning = {
      messages: [
        { role: 'user' as const, content: 'a' },
        { role: 'assistant' as const, content: 'b', reasoning_content: 'r' },
        { role: 'user' as const, content: 'c' },
        { role: 'assistant' as const, content: 'd' }
      ]
    }
    expect(() => exportRow(earlyReasoning, 'alpaca')).toThrow(
      'Alpaca carries the reasoning of the output turn only'
    )
  })

  it('never writes metadata over a key the format writes or reads: it nests those under "metadata"', () => {
    const conversation: Conversation = {
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'a', metadata: { content: 'old answer', score: 1 } }
      ],
      metadata: { input: 'shadowed', system: 'would become a system turn', metadata: { a: 1 }, id: 4 }
    }
    expect(exportRow(conversation, 'messages')).toEqual({
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'a', score: 1, metadata: { content: 'old answer' } }
      ],
      input: 'shadowed',
      id: 4,
      metadata: { system: 'would become a system turn', metadata: { a: 1 } }
    })
    const alpaca = exportRow(
      { ...conversation, messages: [conversation.messages[0], { role: 'assistant', content: 'a' }] },
      'alpaca'
    )
    expect(alpaca).toEqual({
      instruction: 'q',
      input: '',
      output: 'a',
      id: 4,
      metadata: { input: 'shadowed', system: 'would become a system turn', metadata: { a: 1 } }
    })
    // Read back, the nested keys stay metadata (nested once): nothing is lost or taken for a field.
    const again = normaliseRow(alpaca, {
      format: 'alpaca',
      columns: { instruction: 'instruction', input: 'input', output: 'output' }
    })
    expect(again.messages).toEqual([
      { role: 'user', content: 'q' },
      { role: 'assistant', content: 'a' }
    ])
    expect(again.metadata).toEqual({ id: 4, metadata: alpaca.metadata })
  })
})

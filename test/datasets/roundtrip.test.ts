import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { exportRow, ExportSkip } from '../../src-main/datasets/export'
import { importFile, previewImport } from '../../src-main/datasets/import'
import { exportSamples } from '../../src-main/datasets/work'
import type { Store } from '../../src-main/store'
import type { Conversation, ExportFormat } from '../../src-preload/contract'
import { SHARED_DIR } from '../helpers/temp'
import { makeTempDir, openTempStore } from '../store/helpers'

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
  return store.datasets.listSamples(datasetId, { limit: -1 }).map((s) => s.conversation)
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
    const [first] = store.datasets.listSamples(original, { limit: 1 })
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

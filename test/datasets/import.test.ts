import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { importFile } from '../../src-main/datasets/import'
import { previewImport } from '../../src-main/datasets/import-preview'
import { defaultMapping } from '../../src-main/datasets/import-mapping'
import type { ImportMapping } from '../../src-preload/contract'
import { SHARED_DIR } from '../helpers/temp'
import { liveSamples, makeTempDir, openTempStore } from '../store/helpers'
import { importRequest as request, sampleCount } from './import-helpers'
import { writeParquetStrings } from './parquet-fixture'

const GSM8K_TRAIN = join(SHARED_DIR, 'datasets', 'gsm8k', 'train.jsonl')
const CHAT_DEMOS = join(SHARED_DIR, 'datasets', 'chat-demos')
const GSM8K_MAPPING: ImportMapping = {
  format: 'prompt-completion',
  columns: { prompt: 'question', completion: 'answer' }
}

function messagesLine(answer: string): string {
  return JSON.stringify({
    messages: [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: answer }
    ]
  })
}

describe('importFile', () => {
  it('imports GSM8K train with question/answer mapped to prompt/completion', async () => {
    const store = openTempStore()
    const outcome = await importFile(store, request(GSM8K_TRAIN, GSM8K_MAPPING, { tags: ['math'] }))
    expect(outcome).toMatchObject({ ok: true, imported: 7473, badRowCount: 0 })
    const [first] = liveSamples(store, 1, { limit: 1 })
    expect(first.conversation.messages[0]).toEqual({
      role: 'user',
      content: expect.stringMatching(/^Natalia sold clips to 48 of her friends/)
    })
    expect(first.conversation.messages[1].content).toMatch(/#### 72$/)
    expect(first).toMatchObject({ sourceLine: 1, tags: ['math'], revision: 1, sourceFile: GSM8K_TRAIN })
    // Every sample has its revision 1 (its own row until the first edit writes it out).
    expect(store.datasets.revisions(first.id)).toMatchObject([
      { revision: 1, author: 'import', note: `imported from ${GSM8K_TRAIN}`, createdAt: first.createdAt }
    ])
    expect(store.db.prepare('SELECT count(*) FROM sample_revisions').pluck().get()).toBe(0)
    store.datasets.updateSample(first.id, { tags: ['math', 'checked'] }, { author: 'ana' })
    store.datasets.revertSample(first.id, 1, { author: 'ana' })
    expect(store.datasets.revisions(first.id).map((r) => [r.revision, r.author, r.tags])).toEqual([
      [1, 'import', ['math']],
      [2, 'ana', ['checked', 'math']],
      [3, 'ana', ['math']]
    ])
    expect(store.datasets.revisions(first.id)[0].createdAt).toBe(first.createdAt)
    // The search index was filled in the same transaction.
    expect(store.datasets.querySamples(1, { filter: { search: 'Natalia clips' } }).total).toBe(1)
  })

  it.each([
    ['alpaca_en_demo.json', 'json', 'alpaca', 999],
    ['dpo_en_demo.json', 'json', 'preference', 300],
    ['fastchat_dummy_conversation.json', 'json', 'sharegpt', 500],
    ['glaive_toolcall_en_demo.json', 'json', 'sharegpt', 300],
    ['v1_sft_demo.jsonl', 'jsonl', 'messages', 500]
  ])('imports chat-demos/%s (%s, %s) with the detected mapping', async (name, fileType, format, rows) => {
    const file = join(CHAT_DEMOS, name)
    const preview = await previewImport({ file, fileType: 'auto', format: 'auto', limit: 5 })
    expect(preview).toMatchObject({ fileType, mapping: { format } })
    expect(preview.rows.every((row) => row.error === null && row.conversation !== null)).toBe(true)
    const store = openTempStore()
    const outcome = await importFile(store, request(file, preview.mapping!))
    expect(outcome).toMatchObject({ ok: true, imported: rows, badRowCount: 0 })
  })

  it('keeps tool calls, tools and loss weights from the demos', async () => {
    const store = openTempStore()
    const glaive = join(CHAT_DEMOS, 'glaive_toolcall_en_demo.json')
    await importFile(store, request(glaive, defaultMapping('sharegpt', ['conversations', 'tools'])))
    const [first] = liveSamples(store, 1, { limit: 1 })
    expect(first.conversation.tools?.[0]).toMatchObject({ name: 'search_recipes' })
    expect(first.conversation.messages.find((m) => m.tool_calls)?.tool_calls?.[0]).toEqual({
      type: 'function',
      function: { name: 'search_recipes', arguments: { ingredients: ['chicken', 'bell peppers', 'rice'] } }
    })
    expect(first.conversation.messages.some((m) => m.role === 'tool')).toBe(true)

    const v1 = join(CHAT_DEMOS, 'v1_sft_demo.jsonl')
    await importFile(store, request(v1, defaultMapping('messages', ['messages']), { datasetName: 'v1' }))
    const [weighted] = liveSamples(store, 2, { limit: 1 })
    expect(weighted.conversation.messages.map((m) => m.loss_weight)).toEqual([0, 1])
  })

  it('reports every broken line with its number; abort imports nothing, skip imports the rest', async () => {
    const file = join(makeTempDir(), 'broken.jsonl')
    const lines = [
      messagesLine('one'),
      '{"messages": "nope"}',
      '',
      messagesLine('two'),
      '{not json',
      '[1, 2]',
      JSON.stringify({ messages: [{ role: 'user', content: 'only a question' }] }),
      messagesLine('three')
    ]
    writeFileSync(file, lines.join('\n'))
    const store = openTempStore()
    const aborted = await importFile(store, request(file, defaultMapping('messages', ['messages'])))
    expect(aborted.ok).toBe(false)
    expect(aborted.badRows.map((r) => [r.line, r.file])).toEqual([
      [2, file],
      [5, file],
      [6, file],
      [7, file]
    ])
    expect(aborted.badRows.map((r) => r.reason)).toEqual([
      '"messages" must be a list of messages, got "nope"',
      expect.stringMatching(/^not valid JSON/),
      'a row must be a JSON object, got an array',
      'no assistant turn to train on'
    ])
    expect(!aborted.ok && aborted.message).toMatch(
      /^datasets\.import: line 2 of broken\.jsonl: .* \(and 3 more bad lines\); nothing was imported$/
    )
    expect(store.datasets.list()).toEqual([])
    expect(sampleCount(store)).toBe(0)

    const skipped = await importFile(
      store,
      request(file, defaultMapping('messages', ['messages']), { onBadRows: 'skip' })
    )
    expect(skipped).toMatchObject({ ok: true, imported: 3, badRowCount: 4 })
    expect(liveSamples(store, 1).map((s) => s.sourceLine)).toEqual([1, 4, 8])
  })

  it('leaves no partial dataset when an import is cancelled half-way', async () => {
    const file = join(makeTempDir(), 'big.jsonl')
    writeFileSync(file, Array.from({ length: 5000 }, (_, i) => messagesLine(`answer ${i}`)).join('\n'))
    const store = openTempStore()
    const cancel = new AbortController()
    let batches = 0
    const run = importFile(store, request(file, defaultMapping('messages', ['messages'])), {
      signal: cancel.signal,
      onProgress: () => {
        // Cancel once some rows are staged; the rows read so far must not reach the store.
        if (++batches === 1) cancel.abort()
      }
    })
    await expect(run).rejects.toThrow('datasets.import: cancelled')
    expect(store.datasets.list()).toEqual([])
    expect(sampleCount(store)).toBe(0)
    expect(store.db.prepare('SELECT count(*) FROM sample_revisions').pluck().get()).toBe(0)
  })

  it('reads CSV with quoted multi-line fields, reporting ragged rows by line', async () => {
    const file = join(makeTempDir(), 'qa.csv')
    writeFileSync(file, 'question,answer\n"Two\nlines?","Yes, ""two"""\nonly one field\n"3+4?",7\n')
    const preview = await previewImport({ file, fileType: 'auto', format: 'auto', limit: 10 })
    expect(preview).toMatchObject({
      fileType: 'csv',
      columns: ['question', 'answer'],
      mapping: { format: 'prompt-completion', columns: { prompt: 'question', completion: 'answer' } }
    })
    const store = openTempStore()
    const outcome = await importFile(store, request(file, preview.mapping!, { onBadRows: 'skip' }))
    expect(outcome).toMatchObject({
      ok: true,
      imported: 2,
      badRows: [{ line: 4, reason: 'has 1 fields, the header has 2' }]
    })
    expect(
      liveSamples(store, 1).map((s) => [s.sourceLine, s.conversation.messages.map((m) => m.content)])
    ).toEqual([
      [2, ['Two\nlines?', 'Yes, "two"']],
      [5, ['3+4?', '7']]
    ])
  })

  it('reads Parquet row group by row group (messages as JSON text in a string column)', async () => {
    const file = join(makeTempDir(), 'chat.parquet')
    const rows = Array.from({ length: 25 }, (_, i) => ({
      messages: JSON.stringify([
        { role: 'user', content: `question ${i}` },
        { role: 'assistant', content: `answer ${i}` }
      ]),
      source: 'synthetic'
    }))
    writeParquetStrings(file, rows, 10)
    const preview = await previewImport({ file, fileType: 'auto', format: 'auto', limit: 3 })
    expect(preview).toMatchObject({
      fileType: 'parquet',
      columns: ['messages', 'source'],
      mapping: { format: 'messages' }
    })
    const store = openTempStore()
    const outcome = await importFile(store, request(file, preview.mapping!))
    expect(outcome).toMatchObject({ ok: true, imported: 25 })
    const samples = liveSamples(store, 1)
    expect(samples.map((s) => s.sourceLine)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1))
    expect(samples[24].conversation.messages[1].content).toBe('answer 24')
  })

  it('imports into an existing dataset next to its samples', async () => {
    const store = openTempStore()
    const file = join(makeTempDir(), 'a.jsonl')
    writeFileSync(file, messagesLine('x') + '\n')
    const first = await importFile(store, request(file, defaultMapping('messages', ['messages'])))
    const datasetId = first.ok ? first.datasetId : -1
    await importFile(
      store,
      request(file, defaultMapping('messages', ['messages']), {
        datasetName: undefined,
        datasetId,
        split: 'test'
      })
    )
    expect(store.datasets.get(datasetId)).toMatchObject({ sampleCount: 2 })
    expect(store.datasets.detail(datasetId)?.splits).toEqual({ train: 1, validation: 0, test: 1 })
  })
})

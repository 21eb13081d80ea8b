/**
 * Raw text for continued pre-training: `{"text"}` rows and .txt files cut by line, paragraph or
 * document, on real files (test/fixtures/datasets, see the README there); export as text, and search.
 */
import { readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { exportRow, ExportSkip } from '../../src-main/datasets/export'
import { importFile } from '../../src-main/datasets/import'
import { checkConversation, normaliseRow } from '../../src-main/datasets/normalise'
import { detectFileType, readRecords } from '../../src-main/datasets/sources'
import { TextSampleCutter } from '../../src-main/datasets/text-samples'
import type { Conversation, ImportMapping, TextSampleUnit } from '../../src-preload/contract'
import { conversationSchema } from '../../src-preload/contract'
import { makeTempDir, openTempStore } from '../store/helpers'
import { conversations, exported, FIXTURES, importWith, jsonlRows, mappingOf } from './fidelity-helpers'
import { importRequest } from './import-helpers'

const TEXT: ImportMapping = { format: 'text', columns: { text: 'text' } }
const LICENSE = join(FIXTURES, 'apache-2.0-license.txt')
const C4 = join(FIXTURES, 'llamafactory', 'c4_demo_head10.jsonl')

async function samplesOf(file: string, textUnit: TextSampleUnit): Promise<{ line: number; text: string }[]> {
  const out: { line: number; text: string }[] = []
  for await (const batch of readRecords(file, 'txt', { textUnit })) {
    for (const record of batch) {
      if (!('row' in record)) throw new Error(record.error)
      out.push({ line: record.line, text: record.row.text as string })
    }
  }
  return out
}

function writeText(text: string, name = 'in.txt'): string {
  const file = join(makeTempDir(), name)
  writeFileSync(file, text)
  return file
}

describe('.txt files', () => {
  it('is the file type of a .txt name', () => {
    expect(detectFileType(LICENSE)).toBe('txt')
  })

  it('cuts the Apache license into its paragraphs, each on the line it starts on', async () => {
    const paragraphs = await samplesOf(LICENSE, 'paragraph')
    const lines = readFileSync(LICENSE, 'utf8').split('\n')
    // Every paragraph starts after a blank line (or at the top) and is the lines up to the next one.
    for (const { line, text } of paragraphs) {
      const own = text.split('\n')
      expect(lines.slice(line - 1, line - 1 + own.length)).toEqual(own)
      expect(line === 1 || lines[line - 2].trim() === '').toBe(true)
      expect(lines[line - 1 + own.length]?.trim() ?? '').toBe('')
    }
    expect(paragraphs[0]).toEqual({ line: 1, text: expect.stringMatching(/^Apache License\n +Version 2\.0/) })
    const nonBlankLines = lines.filter((line) => line.trim() !== '').length
    expect(paragraphs.flatMap((p) => p.text.split('\n'))).toHaveLength(nonBlankLines)
  })

  it('cuts by line (blank lines left out) and reads the whole file as one document', async () => {
    const lines = readFileSync(LICENSE, 'utf8').split('\n')
    const byLine = await samplesOf(LICENSE, 'line')
    expect(byLine).toEqual(lines.flatMap((text, i) => (text.trim() === '' ? [] : [{ line: i + 1, text }])))
    // The file ends with blank lines: the document is the text before them.
    const last = lines.findLastIndex((line) => line.trim() !== '')
    expect(last).toBeLessThan(lines.length - 1)
    expect(await samplesOf(LICENSE, 'document')).toEqual([
      { line: 1, text: lines.slice(0, last + 1).join('\n') }
    ])
  })

  it('cuts the same whatever the chunks, CRLF line breaks included', () => {
    const text = 'first line\r\nstill first\r\n\r\n  \r\nsecond\r\n\nthird\n'
    const whole = (unit: TextSampleUnit) => {
      const cutter = new TextSampleCutter(unit)
      return [...cutter.push(text), ...cutter.end()]
    }
    const charByChar = (unit: TextSampleUnit) => {
      const cutter = new TextSampleCutter(unit)
      return [...[...text].flatMap((c) => cutter.push(c)), ...cutter.end()]
    }
    expect(whole('paragraph')).toEqual([
      { line: 1, text: 'first line\nstill first' },
      { line: 5, text: 'second' },
      { line: 7, text: 'third' }
    ])
    expect(whole('line').map((s) => s.line)).toEqual([1, 2, 5, 7])
    expect(whole('document')).toEqual([{ line: 1, text: 'first line\nstill first\n\n  \nsecond\n\nthird' }])
    for (const unit of ['line', 'paragraph', 'document'] as const)
      expect(charByChar(unit)).toEqual(whole(unit))
  })

  it('refuses a file too large for one document, suggesting paragraphs', async () => {
    const file = writeText('x')
    truncateSync(file, (64 << 20) + 1)
    await expect(samplesOf(file, 'document')).rejects.toThrow(
      'in.txt: the file is 65 MiB, more than the 64 MiB one sample may hold; import it by paragraph instead'
    )
  })

  it('refuses a file of blank lines', async () => {
    await expect(samplesOf(writeText('\n\n   \n'.repeat(2000)), 'paragraph')).rejects.toThrow(
      'in.txt: the file holds no text (only blank lines)'
    )
  })

  it('imports a .txt file as raw-text samples, which export as text and search finds', async () => {
    const store = openTempStore()
    const mapping = await mappingOf(LICENSE, 'text', 'paragraph')
    expect(mapping).toEqual(TEXT)
    const { datasetId, imported } = await importWith(store, LICENSE, mapping, 'license', 'paragraph')
    const paragraphs = await samplesOf(LICENSE, 'paragraph')
    expect(imported).toBe(paragraphs.length)
    const samples = conversations(store, datasetId)
    expect(samples).toEqual(paragraphs.map(({ text }) => ({ messages: [], text })))
    // The editor sends a sample back through the API's schema.
    expect(conversationSchema.parse(samples[0])).toEqual(samples[0])
    const lines = store.db
      .prepare<[number], number>('SELECT source_line FROM samples WHERE dataset_id = ? ORDER BY id')
      .pluck()
      .all(datasetId)
    expect(lines).toEqual(paragraphs.map((p) => p.line))
    const found = store.datasets.sampleIds(datasetId, { search: 'sublicense' })
    expect(found.length).toBeGreaterThan(0)
    const { rows, skipped } = exported(store, datasetId, 'text')
    expect(skipped).toEqual([])
    expect(rows).toEqual(paragraphs.map(({ text }) => ({ text })))
    const messages = exported(store, datasetId, 'messages')
    expect(messages.rows).toEqual([])
    expect(new Set(messages.skipped)).toEqual(
      new Set(['a raw-text sample has no messages for messages; export it as text'])
    )
  })
})

describe('{"text"} rows', () => {
  it('imports the C4 demo rows, keeps other columns, and round-trips through the text export', async () => {
    const store = openTempStore()
    const { datasetId, imported } = await importWith(store, C4, TEXT, 'c4')
    expect(imported).toBe(10)
    const source = jsonlRows(C4)
    expect(conversations(store, datasetId)).toEqual(source.map((row) => ({ messages: [], text: row.text })))
    const { path, rows } = exported(store, datasetId, 'text')
    expect(rows).toEqual(source)
    const again = await importWith(store, path, TEXT, 'again')
    expect(conversations(store, again.datasetId)).toEqual(conversations(store, datasetId))
  })

  it('keeps a row’s other columns as metadata and writes them back', () => {
    const conversation = normaliseRow({ text: 'Once upon a time.', url: 'https://example.org', n: 3 }, TEXT)
    expect(conversation).toEqual({
      messages: [],
      text: 'Once upon a time.',
      metadata: { url: 'https://example.org', n: 3 }
    })
    expect(exportRow(conversation, 'text')).toEqual({
      text: 'Once upon a time.',
      url: 'https://example.org',
      n: 3
    })
  })

  it('reports an empty text as a bad row naming file, line and column', async () => {
    const file = join(makeTempDir(), 'texts.jsonl')
    writeFileSync(file, ['{"text": "fine"}', '{"text": "   \\n "}', '{"text": null}'].join('\n'))
    const store = openTempStore()
    const outcome = await importFile(store, importRequest(file, TEXT), { readInThisThread: true })
    expect(outcome.ok).toBe(false)
    if (outcome.ok) return
    expect(outcome.badRows).toEqual([
      { file, line: 2, reason: '"text" is empty' },
      { file, line: 3, reason: 'column "text" is missing' }
    ])
    expect(outcome.message).toBe(
      'datasets.import: line 2 of texts.jsonl: "text" is empty (and 1 more bad lines); nothing was imported'
    )
  })

  it('is a sample of its own kind: no messages beside the text, and only text exports it', () => {
    const text: Conversation = { messages: [], text: 'Raw.' }
    expect(() => checkConversation(text)).not.toThrow()
    expect(() => checkConversation({ ...text, messages: [{ role: 'assistant', content: 'x' }] })).toThrow(
      'a raw-text sample has no messages'
    )
    expect(() => checkConversation({ messages: [], text: ' \n' })).toThrow('the text is empty')
    expect(() => checkConversation({ ...text, label: true })).toThrow(
      'a raw-text sample has no rejected completion, tools or label'
    )
    for (const format of ['messages', 'sharegpt', 'alpaca'] as const) {
      expect(() => exportRow(text, format)).toThrow(ExportSkip)
    }
    const chat: Conversation = {
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'a' }
      ]
    }
    expect(() => exportRow(chat, 'text')).toThrow(
      'a conversation is not raw text; export it as messages, sharegpt or alpaca'
    )
  })
})

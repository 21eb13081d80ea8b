/**
 * TRL's dataset types ("Dataset formats and types" in TRL's docs), in both formats, from files
 * written in exactly the documented shapes (test/fixtures/datasets/trl, see the README there):
 * each imports as the sample it describes and exports back to the same sample.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { exportRow } from '../../src-main/datasets/export'
import { previewImport } from '../../src-main/datasets/import-preview'
import { normaliseRow } from '../../src-main/datasets/normalise'
import { RowError } from '../../src-main/datasets/raw-values'
import type { Conversation, ImportFormat, ImportMapping } from '../../src-preload/contract'
import { makeTempDir, openTempStore } from '../store/helpers'
import { conversations, exported, FIXTURES, importWith, mappingOf } from './fidelity-helpers'

const DIR = join(FIXTURES, 'trl')
const PROMPT_COMPLETION: ImportMapping = {
  format: 'prompt-completion',
  columns: { prompt: 'prompt', completion: 'completion', label: 'label' }
}

const user = (content: string) => ({ role: 'user' as const, content })
const assistant = (content: string) => ({ role: 'assistant' as const, content })
const SKY = 'What color is the sky?'

describe('TRL dataset types', () => {
  it.each([
    [
      'language_modeling_standard.jsonl',
      'text',
      [
        { messages: [], text: 'The sky is blue.' },
        { messages: [], text: 'The grass is green.' }
      ]
    ],
    [
      'language_modeling_conversational.jsonl',
      'messages',
      [
        { messages: [user(SKY), assistant('It is blue.')] },
        { messages: [user('What color is the grass?'), assistant('It is green.')] }
      ]
    ],
    [
      'prompt_completion_standard.jsonl',
      'prompt-completion',
      [
        { messages: [user('The sky is'), assistant(' blue.')] },
        { messages: [user('The grass is'), assistant(' green.')] }
      ]
    ],
    [
      'prompt_completion_conversational.jsonl',
      'prompt-completion',
      [
        { messages: [user(SKY), assistant('It is blue.')] },
        { messages: [user('What color is the grass?'), assistant('It is green.')] }
      ]
    ],
    [
      'preference_explicit_standard.jsonl',
      'preference',
      [{ messages: [user('The sky is'), assistant(' blue.')], rejected: [assistant(' green.')] }]
    ],
    [
      // TRL's extract_prompt cuts the shared start before the space: the same pair as explicit.
      'preference_implicit_standard.jsonl',
      'preference',
      [{ messages: [user('The sky is'), assistant(' blue.')], rejected: [assistant(' green.')] }]
    ],
    [
      'preference_explicit_conversational.jsonl',
      'preference',
      [{ messages: [user(SKY), assistant('It is blue.')], rejected: [assistant('It is green.')] }]
    ],
    [
      'preference_implicit_conversational.jsonl',
      'preference',
      [{ messages: [user(SKY), assistant('It is blue.')], rejected: [assistant('It is green.')] }]
    ],
    [
      'unpaired_preference_standard.jsonl',
      'prompt-completion',
      [
        { messages: [user('The sky is'), assistant(' blue.')], label: true },
        { messages: [user('The sky is'), assistant(' green.')], label: false }
      ]
    ],
    [
      'unpaired_preference_conversational.jsonl',
      'prompt-completion',
      [
        { messages: [user(SKY), assistant('It is blue.')], label: true },
        { messages: [user(SKY), assistant('It is green.')], label: false }
      ]
    ]
  ] as [string, ImportFormat, Conversation[]][])(
    '%s imports as %s samples and round-trips through export',
    async (name, format, expected) => {
      const store = openTempStore()
      const file = join(DIR, name)
      const { datasetId } = await importWith(store, file, await mappingOf(file, format), 'trl')
      expect(conversations(store, datasetId)).toEqual(expected)
      const exportFormat = format === 'text' ? 'text' : 'messages'
      const { path, skipped } = exported(store, datasetId, exportFormat)
      expect(skipped).toEqual([])
      const againFormat = format === 'text' ? 'text' : format === 'preference' ? 'preference' : 'auto'
      const again = await importWith(store, path, await mappingOf(path, againFormat), 'again')
      expect(conversations(store, again.datasetId)).toEqual(expected)
    }
  )

  it('writes an unpaired preference back as LLaMA-Factory’s KTO data holds it: messages and a label', () => {
    const sample: Conversation = {
      messages: [{ role: 'system', content: 'Be brief.' }, user(SKY), assistant('It is green.')],
      label: false,
      metadata: { id: 7 }
    }
    expect(exportRow(sample, 'messages')).toEqual({ messages: sample.messages, label: false, id: 7 })
    expect(exportRow(sample, 'sharegpt')).toMatchObject({ label: false, id: 7 })
    expect(() => exportRow(sample, 'alpaca')).toThrow(/^Alpaca has no unpaired preference label/)
  })

  it('imports LLaMA-Factory’s KTO demo (messages with a label), and writes it back the same', async () => {
    const file = join(FIXTURES, 'llamafactory', 'kto_en_demo_rows3.json')
    const preview = await previewImport({ file, fileType: 'auto', format: 'auto', limit: 3 })
    expect(preview.mapping).toEqual({ format: 'messages', columns: { messages: 'messages', label: 'label' } })
    expect(preview.notes).toContain(
      'unpaired preference (KTO, as LLaMA-Factory\'s kto_tag): "label" marks each conversation desirable (true) or not (false)'
    )
    const store = openTempStore()
    const { datasetId } = await importWith(store, file, preview.mapping!, 'kto')
    const samples = conversations(store, datasetId)
    expect(samples.map((sample) => sample.label)).toEqual([true, false, true])
    const { path } = exported(store, datasetId, 'messages')
    const written = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown)
    expect(written).toEqual(JSON.parse(readFileSync(file, 'utf8')))
  })

  it('reads a label as CSV and Parquet cells hold it, and names a value that is none', async () => {
    const row = (label: unknown) => ({ prompt: 'The sky is', completion: ' blue.', label })
    for (const [value, expected] of [
      [true, true],
      [false, false],
      ['true', true],
      ['False', false],
      [' TRUE ', true],
      [1, true],
      [0, false],
      ['1', true],
      ['0', false]
    ] as [unknown, boolean][]) {
      expect(normaliseRow(row(value), PROMPT_COMPLETION).label).toBe(expected)
    }
    // An empty cell is no label: a plain prompt/completion sample.
    expect(normaliseRow(row(''), PROMPT_COMPLETION)).toEqual({
      messages: [user('The sky is'), assistant(' blue.')]
    })
    for (const value of ['yes', 2, [true]]) {
      expect(() => normaliseRow(row(value), PROMPT_COMPLETION)).toThrow(RowError)
    }
    expect(() => normaliseRow(row('maybe'), PROMPT_COMPLETION)).toThrow(
      '"label" must be true or false (or 1/0), got "maybe"'
    )
    // In a file, the bad label is a bad row with its line.
    const file = join(makeTempDir(), 'kto.csv')
    writeFileSync(file, 'prompt,completion,label\nThe sky is, blue.,True\nThe sky is, green.,perhaps\n')
    const store = openTempStore()
    await expect(importWith(store, file, PROMPT_COMPLETION, 'kto')).rejects.toThrow(
      'datasets.import: line 3 of kto.csv: "label" must be true or false (or 1/0), got "perhaps"; nothing was imported'
    )
  })

  it('refuses a text pair that shares no prompt', () => {
    const mapping: ImportMapping = {
      format: 'preference',
      columns: { chosen: 'chosen', rejected: 'rejected' }
    }
    expect(() => normaliseRow({ chosen: 'Blue.', rejected: 'Green.' }, mapping)).toThrow(
      '"chosen" and "rejected" do not share a prompt and differ after it'
    )
  })
})

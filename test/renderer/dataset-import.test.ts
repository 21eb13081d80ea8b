/**
 * The import form's mapping by field: columns, nested paths and templates, the detected choices'
 * alternatives, and the .txt text unit, against a scripted preload bridge.
 */
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import type { ImportFieldChoice, ImportMapping } from '../../src-preload/contract'
import {
  nestedPaths,
  remapForFormat,
  useDatasetImportStore,
  usesSource,
  withFieldSource
} from '../../src-renderer/src/stores/datasetImport'
import { installScriptedBridge, ok } from './scripted-bridge'

const bridge = installScriptedBridge()

beforeEach(() => {
  setActivePinia(createPinia())
  bridge.reset()
})

const STEM_AND_CHOICES =
  '{{ question.stem }}{% for c in question.choices %}\n{{ c.label }}. {{ c.text }}{% endfor %}'
const ARC: ImportMapping = {
  format: 'prompt-completion',
  columns: {},
  templates: { prompt: STEM_AND_CHOICES, completion: '{{ answerKey }}' }
}
const PROMPT_CHOICE: ImportFieldChoice = {
  field: 'prompt',
  chosen: { template: STEM_AND_CHOICES },
  why: 'the question with its choices',
  alternatives: [{ column: 'question.stem', why: 'the question alone, without its choices' }]
}

describe('mapping a field', () => {
  it('to a path or a template replaces what the field read before, and nothing else', () => {
    const stem = withFieldSource(ARC, 'prompt', { column: 'question.stem' })
    expect(stem).toEqual({
      format: 'prompt-completion',
      columns: { prompt: 'question.stem' },
      templates: { completion: '{{ answerKey }}' }
    })
    expect(withFieldSource(stem, 'completion', { column: 'answerKey' })).toEqual({
      format: 'prompt-completion',
      columns: { prompt: 'question.stem', completion: 'answerKey' }
    })
    expect(withFieldSource(stem, 'prompt', null).columns.prompt).toBeUndefined()
  })

  it('tells which source a field reads now', () => {
    expect(usesSource(ARC, 'prompt', PROMPT_CHOICE.chosen)).toBe(true)
    expect(usesSource(ARC, 'prompt', PROMPT_CHOICE.alternatives[0])).toBe(false)
    const stem = withFieldSource(ARC, 'prompt', PROMPT_CHOICE.alternatives[0])
    expect(usesSource(stem, 'prompt', PROMPT_CHOICE.alternatives[0])).toBe(true)
  })

  it('keeps templates and paths into present columns when the format changes', () => {
    const mapping = withFieldSource(ARC, 'prompt', { column: 'question.stem' })
    expect(remapForFormat('preference', mapping, ['question', 'answerKey'])).toEqual({
      format: 'preference',
      columns: { prompt: 'question.stem' }
    })
    expect(remapForFormat('prompt-completion', ARC, ['question', 'answerKey']).templates).toEqual(
      ARC.templates
    )
  })

  it('offers the paths inside the previewed rows nested objects, not into their lists', () => {
    const rows = [
      { id: 1, question: { stem: 'Why?', choices: [{ text: 'a', label: 'A' }] }, answerKey: 'A' },
      { id: 2, question: { stem: 'How?', image: { url: 'x' } } }
    ]
    expect(nestedPaths(rows)).toEqual([
      'question.stem',
      'question.choices',
      'question.image',
      'question.image.url'
    ])
  })
})

describe('the import form', () => {
  function scriptPreview(): void {
    bridge.handle('datasets.previewImport', (input) =>
      ok({
        path: input.path,
        fileType: 'jsonl',
        columns: ['id', 'question', 'answerKey'],
        detected: ARC,
        mapping: input.mapping ? { columns: {}, ...input.mapping } : ARC,
        notes: [],
        fieldChoices: [PROMPT_CHOICE],
        rows: []
      })
    )
  }

  it('counts a field composed by a template as mapped, and previews again with an alternative', async () => {
    scriptPreview()
    const store = useDatasetImportStore()
    store.setPath('/data/arc.jsonl')
    await store.runPreview()
    expect(store.missingFields).toEqual([])
    expect(store.canImport).toBe(true)
    await store.setMapping(withFieldSource(store.effectiveMapping!, 'prompt', PROMPT_CHOICE.alternatives[0]))
    const calls = bridge.callsOf('datasets.previewImport')
    expect(calls).toHaveLength(2)
    expect(calls[1].mapping).toEqual({
      format: 'prompt-completion',
      columns: { prompt: 'question.stem' },
      templates: { completion: '{{ answerKey }}' }
    })
  })

  it('sends the text unit of a .txt file, and previews again when it changes', async () => {
    bridge.handle('datasets.previewImport', (input) =>
      ok({
        path: input.path,
        fileType: 'txt',
        columns: ['text'],
        detected: { format: 'text', columns: { text: 'text' } },
        mapping: { format: 'text', columns: { text: 'text' } },
        notes: [],
        fieldChoices: [],
        rows: []
      })
    )
    const store = useDatasetImportStore()
    store.setPath('/data/book.txt')
    await store.runPreview()
    expect(store.datasetName).toBe('book')
    await store.setTextUnit('line')
    expect(bridge.callsOf('datasets.previewImport').map((input) => input.textUnit)).toEqual([
      'paragraph',
      'line'
    ])
  })
})

/**
 * The dataset curation renderer without a DOM: the pure helpers behind the virtualised table,
 * the template preview and the import form, and the stores talking to a scripted preload bridge.
 */
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type {
  ImportMapping,
  ImportResult,
  PreflightReport,
  SampleDetail,
  SampleRow
} from '../../src-preload/contract'
import { MAX_SCROLL_HEIGHT_PX, visibleWindow } from '../../src-renderer/src/composables/useVirtualRows'
import {
  datasetNameFromPath,
  remapForFormat,
  suggestedDatasetName,
  useDatasetImportStore
} from '../../src-renderer/src/stores/datasetImport'
import { segmentTemplateText, useDatasetQualityStore } from '../../src-renderer/src/stores/datasetQuality'
import { useDatasetsStore } from '../../src-renderer/src/stores/datasets'
import {
  nextRole,
  normaliseConversation,
  useSampleEditorStore
} from '../../src-renderer/src/stores/sampleEditor'
import { compactFilter, pagesToEvict, useSampleTableStore } from '../../src-renderer/src/stores/sampleTable'
import { useToastStore } from '../../src-renderer/src/stores/toasts'
import { datasetDetail, datasetSummary, modelListing } from './replies'
import { installScriptedBridge, ok, settle, type Handler, type Reply } from './scripted-bridge'

const bridge = installScriptedBridge()

function sampleRow(id: number): SampleRow {
  return {
    id,
    split: 'train',
    tags: [],
    rating: null,
    revision: 1,
    edited: false,
    deleted: false,
    messageCount: 2,
    roles: ['user', 'assistant'],
    prompt: `question ${id}`,
    response: `answer ${id}`,
    isPreference: false,
    tokenCount: null,
    exactDuplicates: 0,
    sourceLine: id,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z'
  }
}

function sampleDetail(id: number, revision = 1, answer = 'Paris.'): SampleDetail {
  return {
    ...sampleRow(id),
    revision,
    datasetId: 1,
    conversation: {
      messages: [
        { role: 'user', content: 'Capital of France?' },
        { role: 'assistant', content: answer }
      ]
    },
    sourceFile: '/data/chats.jsonl',
    contentHash: 'h',
    deletedAt: null
  }
}

/** A samples handler over `total` rows, answering windows by offset (the page defaults as main's). */
function samplesOf(total: number): Handler<'datasets.samples'> {
  return ({ offset = 0, limit = 100 }) =>
    ok({
      total,
      totalExact: true,
      unindexed: 0,
      offset,
      rows: Array.from({ length: Math.max(0, Math.min(limit, total - offset)) }, (_, i) =>
        sampleRow(offset + i + 1)
      )
    })
}

beforeEach(() => {
  setActivePinia(createPinia())
  bridge.reset()
})

describe('visibleWindow', () => {
  it('draws the rows in view plus the overscan, at their own offsets', () => {
    const window = visibleWindow({
      scrollTop: 400,
      viewportHeight: 200,
      rowHeight: 40,
      total: 1000,
      overscan: 2
    })
    expect(window).toEqual({ first: 8, last: 18, contentHeight: 40_000, firstTop: 320 })
  })

  it('draws nothing for an empty list and clamps at both ends', () => {
    expect(
      visibleWindow({ scrollTop: 0, viewportHeight: 300, rowHeight: 40, total: 0, overscan: 5 })
    ).toEqual({
      first: 0,
      last: -1,
      contentHeight: 0,
      firstTop: 0
    })
    const end = visibleWindow({
      scrollTop: 99_999,
      viewportHeight: 200,
      rowHeight: 40,
      total: 10,
      overscan: 3
    })
    expect(end.last).toBe(9)
    expect(end.first).toBeGreaterThanOrEqual(0)
  })

  it('scales a list taller than the browser can lay out, and still reaches its last row', () => {
    const total = 1_000_000
    const top = visibleWindow({ scrollTop: 0, viewportHeight: 400, rowHeight: 40, total, overscan: 0 })
    expect(top.contentHeight).toBe(MAX_SCROLL_HEIGHT_PX)
    expect(top.first).toBe(0)
    const bottom = visibleWindow({
      scrollTop: MAX_SCROLL_HEIGHT_PX - 400,
      viewportHeight: 400,
      rowHeight: 40,
      total,
      overscan: 0
    })
    expect(bottom.last).toBe(total - 1)
    // The last row ends exactly at the bottom of the viewport.
    expect(bottom.firstTop + (total - bottom.first) * 40).toBeCloseTo(MAX_SCROLL_HEIGHT_PX, 6)
  })
})

describe('pure helpers', () => {
  it('evicts the cached pages farthest from the view first', () => {
    expect(pagesToEvict([0, 1, 2, 10, 11, 30], [10, 11], 4).sort((a, b) => a - b)).toEqual([0, 30])
    expect(pagesToEvict([1, 2], [1, 2], 4)).toEqual([])
  })

  it('drops empty values from a filter', () => {
    expect(
      compactFilter({ search: '', tags: [], split: 'train', minMessages: undefined, edited: false })
    ).toEqual({
      split: 'train',
      edited: false
    })
  })

  it('cuts the template text at the trained spans, in order, ignoring overlaps and overhangs', () => {
    const text = 'User: hi\nBot: hello</s>'
    const segments = segmentTemplateText(text, [
      { start: 14, end: 99, messageIndex: 1, weight: 1 },
      { start: 5, end: 8, messageIndex: 0, weight: 0.5 },
      { start: 6, end: 7, messageIndex: 0, weight: 1 }
    ])
    expect(segments.map((s) => [s.text, s.trained])).toEqual([
      ['User:', false],
      [' hi', true],
      ['\nBot: ', false],
      ['hello</s>', true]
    ])
    expect(segments.map((s) => s.text).join('')).toBe(text)
    expect(segments[1].weight).toBe(0.5)
  })

  it('keeps chosen columns when the format changes, and guesses columns named like a field', () => {
    const columns = ['question', 'answer', 'system']
    const mapping = remapForFormat('prompt-completion', null, columns)
    expect(mapping).toEqual({ format: 'prompt-completion', columns: { system: 'system' } })
    const mapped = { format: 'prompt-completion' as const, columns: { prompt: 'question', system: 'system' } }
    expect(remapForFormat('preference', mapped, columns)).toEqual({
      format: 'preference',
      columns: { prompt: 'question', system: 'system' }
    })
  })

  it('names a dataset after its file', () => {
    expect(datasetNameFromPath('/data/gsm8k/train.v2.jsonl')).toBe('train.v2')
    expect(datasetNameFromPath('C:\\data\\chats.parquet')).toBe('chats')
  })

  it('names a dataset after its folder when the file is named for a split or just "data"', () => {
    expect(datasetNameFromPath('/home/me/gsm8k/train.jsonl')).toBe('gsm8k')
    expect(datasetNameFromPath('/home/me/gsm8k/Validation.csv')).toBe('gsm8k')
    expect(datasetNameFromPath('/hub/alpaca/data/train-00000-of-00002.parquet')).toBe('alpaca')
    expect(datasetNameFromPath('C:\\data.json')).toBe('data')
  })

  it('names an uploaded file by the name it was picked by, not the name the server stored it under', () => {
    const uploaded = '/store/uploads/2d47c7ef-alpaca_en_demo.json'
    expect(suggestedDatasetName(uploaded, 'alpaca_en_demo.json')).toBe('alpaca_en_demo')
    // In the desktop app the picked file is read where it is, with its folder.
    expect(suggestedDatasetName('/home/me/gsm8k/train.jsonl', 'train.jsonl')).toBe('gsm8k')
    expect(suggestedDatasetName('/home/me/chats.jsonl', null)).toBe('chats')
  })

  it('compares conversations without the keys an editor leaves empty, and alternates roles', () => {
    expect(
      normaliseConversation({
        messages: [
          { role: 'user', content: 'hi', tool_calls: [], name: '', reasoning_content: '', metadata: {} }
        ],
        rejected: [],
        tools: [],
        metadata: {}
      })
    ).toEqual({ messages: [{ role: 'user', content: 'hi' }] })
    expect(nextRole('user')).toBe('assistant')
    expect(nextRole('assistant')).toBe('user')
    expect(nextRole(undefined)).toBe('user')
  })
})

describe('useSampleTableStore', () => {
  it('fetches the pages a window of rows touches, once each', async () => {
    bridge.handle('datasets.samples', samplesOf(1000))
    const table = useSampleTableStore()
    table.openDataset(1)
    await settle()
    table.ensureRows(150, 320)
    table.ensureRows(150, 320)
    await settle()
    const offsets = bridge.callsOf('datasets.samples').map((input) => input.offset)
    expect(offsets).toEqual([0, 100, 200, 300])
    expect(table.total).toBe(1000)
    expect(table.rowAt(250)?.id).toBe(251)
    expect(table.rowAt(450)).toBeUndefined()
  })

  it('asks for wherever the view is once a batch is back, not for every page scrolled past', async () => {
    /** Answers the calls made so far, one by one, when the test says so. */
    const pending: (() => void)[] = []
    bridge.handle('datasets.samples', (input) => {
      return new Promise((resolve) => pending.push(() => resolve(samplesOf(100_000)(input))))
    })
    const table = useSampleTableStore()
    table.openDataset(1)
    await settle()
    table.ensureRows(5_000, 5_030)
    table.ensureRows(9_000, 9_030)
    expect(bridge.callsOf('datasets.samples').map((input) => input.offset)).toEqual([0])
    pending[0]()
    await settle()
    expect(bridge.callsOf('datasets.samples').map((input) => input.offset)).toEqual([0, 9_000])
    pending[1]()
    await settle()
    expect(table.rowAt(9_010)?.id).toBe(9_011)
    expect(table.rowAt(5_010)).toBeUndefined()
  })

  it('drops a reply to a query the user has already replaced', async () => {
    const pending: ((reply: Reply<'datasets.samples'>) => void)[] = []
    bridge.handle('datasets.samples', () => new Promise((resolve) => pending.push(resolve)))
    const table = useSampleTableStore()
    table.openDataset(1)
    await settle()
    table.setFilter({ search: 'fox' })
    await settle()
    expect(bridge.callsOf('datasets.samples').map((input) => input.filter)).toEqual([{}, { search: 'fox' }])
    pending[1](ok({ total: 1, totalExact: true, unindexed: 0, offset: 0, rows: [sampleRow(7)] }))
    pending[0](ok({ total: 500, totalExact: true, unindexed: 0, offset: 0, rows: [sampleRow(1)] }))
    await settle()
    expect(table.total).toBe(1)
    expect(table.rowAt(0)?.id).toBe(7)
  })

  it('shows a search capped count at once, then asks for the exact count and shows it', async () => {
    bridge.handle('datasets.samples', (input) =>
      input.exactTotal
        ? ok({ total: 25_080, totalExact: true, unindexed: 0, offset: 0, rows: [] })
        : ok({ total: 10_000, totalExact: false, unindexed: 300, offset: 0, rows: [sampleRow(1)] })
    )
    const table = useSampleTableStore()
    table.openDataset(1)
    table.setFilter({ search: 'fox' })
    await settle()
    const calls = bridge.callsOf('datasets.samples').filter((input) => input.filter?.search === 'fox')
    expect(calls.map((input) => Boolean(input.exactTotal))).toEqual([false, true])
    expect(table.total).toBe(25_080)
    expect(table.totalExact).toBe(true)
    expect(table.unindexed).toBe(300)
  })

  it('applies a bulk action to the selection and fetches the rows in view again', async () => {
    bridge.handle('datasets.samples', samplesOf(10))
    bridge.handle('datasets.bulk', (input) => ok({ changed: input.sampleIds.length }))
    bridge.handle('datasets.get', () => ok(datasetDetail(1)))
    bridge.handle('datasets.versions', () => ok([]))
    bridge.handle('datasets.list', () => ok([]))
    const datasets = useDatasetsStore()
    datasets.openId = 1
    const table = useSampleTableStore()
    table.openDataset(1)
    await settle()
    table.ensureRows(0, 9)
    await settle()
    table.toggleSelected(3)
    table.selectRange(4, 5, true)
    expect([...table.selected].sort()).toEqual([3, 5, 6])

    expect(await table.bulk({ kind: 'tag', tags: ['reviewed'] })).toBe(3)
    expect(bridge.callsOf('datasets.bulk')).toEqual([
      { id: 1, sampleIds: [3, 5, 6], action: { kind: 'tag', tags: ['reviewed'] } }
    ])
    expect(bridge.callsOf('datasets.samples')).toHaveLength(2)
    // Deleting empties the selection: the rows are gone from the view.
    await table.bulk({ kind: 'delete' })
    expect(table.selected.size).toBe(0)
  })
})

describe('useSampleEditorStore', () => {
  it('saves only what changed as a revision, and undoes it', async () => {
    bridge.handle('datasets.sample', () => ok(sampleDetail(4)))
    bridge.handle('datasets.sampleHistory', () => ok([]))
    bridge.handle('datasets.updateSample', (input) =>
      ok(sampleDetail(4, 2, input.conversation!.messages[1].content))
    )
    bridge.handle('datasets.undoSample', () => ok(sampleDetail(4, 3, 'Paris.')))
    bridge.handle('datasets.samples', samplesOf(0))
    const editor = useSampleEditorStore()
    await editor.open(4)
    expect(editor.dirty).toBe(false)

    editor.draft!.conversation.messages[1].content = 'Lyon.'
    editor.draft!.conversation.messages[1].loss_weight = 0.5
    expect(editor.dirty).toBe(true)
    expect(await editor.save('typo')).toBe(true)
    expect(bridge.callsOf('datasets.updateSample')).toEqual([
      {
        sampleId: 4,
        note: 'typo',
        conversation: {
          messages: [
            { role: 'user', content: 'Capital of France?' },
            { role: 'assistant', content: 'Lyon.', loss_weight: 0.5 }
          ]
        }
      }
    ])
    expect(editor.sample?.revision).toBe(2)
    expect(editor.dirty).toBe(false)

    await editor.undo()
    expect(bridge.callsOf('datasets.undoSample')).toEqual([{ sampleId: 4 }])
    expect(editor.draft?.conversation.messages[1].content).toBe('Paris.')
  })

  it("keeps what an edit does not touch: a turn's reasoning, its metadata, the sample's metadata", async () => {
    const imported = sampleDetail(5)
    imported.conversation = {
      messages: [
        { role: 'user', content: 'Capital of France?', metadata: { lang: 'en' } },
        { role: 'assistant', content: 'Paris.', reasoning_content: 'A well-known fact.' }
      ],
      metadata: { id: 'r-2', source: 'distilled' }
    }
    bridge.handle('datasets.sample', () => ok(imported))
    bridge.handle('datasets.sampleHistory', () => ok([]))
    bridge.handle('datasets.updateSample', () => ok(sampleDetail(5, 2)))
    bridge.handle('datasets.samples', samplesOf(0))
    const editor = useSampleEditorStore()
    await editor.open(5)
    // The reasoning box emptied and filled again with the same text changes nothing.
    editor.draft!.conversation.messages[1].reasoning_content = ''
    expect(editor.dirty).toBe(true)
    editor.draft!.conversation.messages[1].reasoning_content = 'A well-known fact.'
    expect(editor.dirty).toBe(false)

    editor.draft!.conversation.messages[1].content = 'Paris, on the Seine.'
    expect(await editor.save()).toBe(true)
    expect(bridge.callsOf('datasets.updateSample')[0].conversation).toEqual({
      messages: [
        { role: 'user', content: 'Capital of France?', metadata: { lang: 'en' } },
        { role: 'assistant', content: 'Paris, on the Seine.', reasoning_content: 'A well-known fact.' }
      ],
      metadata: { id: 'r-2', source: 'distilled' }
    })
  })

  it('adds a sample written by hand, then rates it as its first edit', async () => {
    bridge.handle('datasets.addSample', () => ok(sampleDetail(9)))
    bridge.handle('datasets.updateSample', () => ok(sampleDetail(9, 2)))
    bridge.handle('datasets.sampleHistory', () => ok([]))
    bridge.handle('datasets.samples', samplesOf(0))
    useDatasetsStore().openId = 1
    const editor = useSampleEditorStore()
    editor.startNew()
    expect(editor.dirty).toBe(false)
    editor.draft!.conversation.messages[0].content = 'Capital of France?'
    editor.draft!.conversation.messages[1].content = 'Paris.'
    editor.draft!.rating = 4
    editor.addTag('geo')
    expect(await editor.save()).toBe(true)
    expect(bridge.callsOf('datasets.addSample')).toEqual([
      {
        id: 1,
        conversation: sampleDetail(9).conversation,
        split: 'train',
        tags: ['geo']
      }
    ])
    expect(bridge.callsOf('datasets.updateSample')).toEqual([{ sampleId: 9, rating: 4 }])
    expect(editor.isNew).toBe(false)
    expect(editor.sample?.revision).toBe(2)
  })

  it('adds, moves and removes turns of the draft, and tags it', async () => {
    bridge.handle('datasets.sample', () => ok(sampleDetail(4)))
    bridge.handle('datasets.sampleHistory', () => ok([]))
    const editor = useSampleEditorStore()
    await editor.open(4)
    editor.addTurn('messages')
    editor.moveTurn('messages', 2, -1)
    expect(editor.draft!.conversation.messages.map((m) => m.role)).toEqual(['user', 'user', 'assistant'])
    editor.removeTurn('messages', 1)
    editor.addTag(' reviewed ')
    editor.addTag('reviewed')
    expect(editor.draft!.tags).toEqual(['reviewed'])
    expect(editor.draft!.conversation.messages.map((m) => m.role)).toEqual(['user', 'assistant'])
  })
})

describe('useDatasetQualityStore pre-flight', () => {
  const registered = [
    modelListing({ id: 4, name: 'stories260K' }),
    modelListing({ id: 5, name: 'stories15M' })
  ]
  /** A pre-flight that found nothing wrong. */
  const passed: PreflightReport = {
    jobId: 'j',
    checked: 0,
    maxLength: 512,
    model: 'stories260K',
    contextLength: 512,
    counts: { empty: 0, too_long: 0, no_trainable_tokens: 0, template_error: 0, template_drops: 0 },
    problems: []
  }

  afterEach(() => {
    vi.unstubAllGlobals()
  })

  async function preflightInputs(): Promise<unknown[]> {
    bridge.handle('datasets.list', () => ok([]))
    bridge.handle('datasets.get', (input) => ok(datasetDetail(input.id)))
    bridge.handle('datasets.versions', () => ok([]))
    bridge.handle('datasets.preflight', () => ok(passed))
    const quality = useDatasetQualityStore()
    await useDatasetsStore().openDataset(1)
    quality.defaultModel(registered)
    await quality.runPreflight()
    quality.maxLength = 100
    await quality.runPreflight()
    return bridge.callsOf('datasets.preflight')
  }

  it('checks with the first registered model against its own context unless given a length', async () => {
    expect(await preflightInputs()).toEqual([
      { id: 1, baseModelId: 4 },
      { id: 1, baseModelId: 4, maxLength: 100 }
    ])
  })

  it('starts from the model picked last time, in any session', async () => {
    const saved = new Map<string, string>()
    vi.stubGlobal('localStorage', {
      getItem: (key: string) => saved.get(key) ?? null,
      setItem: (key: string, value: string) => saved.set(key, value)
    })
    useDatasetQualityStore().selectModel(5)
    setActivePinia(createPinia())
    expect((await preflightInputs())[0]).toEqual({ id: 1, baseModelId: 5 })
    // The embedded model, once picked, is remembered too; a user's pick is never overridden.
    useDatasetQualityStore().selectModel(undefined)
    useDatasetQualityStore().defaultModel(registered)
    expect(useDatasetQualityStore().previewModelId).toBeUndefined()
    setActivePinia(createPinia())
    useDatasetQualityStore().defaultModel(registered)
    expect(useDatasetQualityStore().previewModelId).toBeUndefined()
  })
})

describe('useDatasetImportStore', () => {
  const messagesMapping: ImportMapping = { format: 'messages', columns: { messages: 'messages' } }

  /** A preview of a JSONL file in the messages format, detected. */
  const messagesPreview: Handler<'datasets.previewImport'> = (input) =>
    ok({
      path: input.path,
      fileType: 'jsonl',
      columns: ['messages'],
      detected: messagesMapping,
      mapping: messagesMapping,
      notes: [],
      fieldChoices: [],
      rows: []
    })

  /** What an import of `imported` rows of a messages file into the dataset answers. */
  const importResult = (
    dataset: ImportResult['dataset'],
    imported: number,
    badRows: ImportResult['badRows'] = []
  ): ImportResult => ({
    jobId: 'j',
    dataset,
    imported,
    fileType: 'jsonl',
    mapping: messagesMapping,
    badRows,
    badRowCount: badRows.length,
    warnings: [],
    version: null
  })

  it('shows the bad rows of an aborted import without a toast, then imports with them skipped', async () => {
    const badRows = [{ file: '/data/chats.jsonl', line: 4, reason: 'not JSON' }]
    bridge.handle('datasets.previewImport', messagesPreview)
    bridge.handle('datasets.import', (input) =>
      input.onBadRows === 'abort'
        ? {
            ok: false,
            error: { code: 'invalid_input', message: '1 bad row', details: { badRows, badRowCount: 1 } }
          }
        : ok(importResult(datasetSummary(3), 5, badRows))
    )
    bridge.handle('datasets.list', () => ok([]))
    const store = useDatasetImportStore()
    store.setPath('/data/chats.jsonl')
    await store.runPreview()
    expect(store.datasetName).toBe('chats')
    expect(store.canImport).toBe(true)

    expect(await store.startImport()).toBeNull()
    expect(store.aborted).toEqual({ badRows, badRowCount: 1 })
    expect(useToastStore().toasts).toEqual([])

    const result = await store.startImport('skip')
    expect(result?.imported).toBe(5)
    expect(store.aborted).toBeNull()
    expect(bridge.callsOf('datasets.import').map((input) => [input.onBadRows, input.datasetName])).toEqual([
      ['abort', 'chats'],
      ['skip', 'chats']
    ])
    expect(bridge.callsOf('datasets.import')[1].mapping).toEqual({
      format: 'messages',
      columns: { messages: 'messages' }
    })
  })

  /** Answers the calls of an import into a new dataset (id 3) or an existing one. */
  function scriptImports(): void {
    bridge.handle('datasets.previewImport', messagesPreview)
    bridge.handle('datasets.import', (input) =>
      ok(importResult(datasetSummary(input.datasetId ?? 3, { name: input.datasetName ?? 'existing' }), 2))
    )
    bridge.handle('datasets.list', () => ok([]))
    bridge.handle('datasets.get', (input) => ok(datasetDetail(input.id)))
    bridge.handle('datasets.versions', () => ok([]))
  }

  it('imports into the dataset that is open, and into a new one once the user is back at the list', async () => {
    scriptImports()
    const datasets = useDatasetsStore()
    const store = useDatasetImportStore()
    // "Import data" on the list: a new dataset; the view then opens it, the outcome still shown.
    store.reset()
    store.setPath('/data/chats.jsonl')
    await store.runPreview()
    expect(await store.startImport()).not.toBeNull()
    await datasets.openDataset(3)
    expect(store.result?.dataset.id).toBe(3)
    expect(store.targetDatasetId).toBe(3)

    // "← All datasets" with the panel still open: the next import makes a new dataset again.
    await datasets.openDataset(null)
    expect(store.targetDatasetId).toBeNull()
    expect(store.result).toBeNull()
    store.setPath('/data/gsm8k/train.jsonl')
    await store.runPreview()
    expect(store.datasetName).toBe('gsm8k')
    await store.startImport()
    const [, second] = bridge.callsOf('datasets.import')
    expect(second.datasetId).toBeUndefined()
    expect(second.datasetName).toBe('gsm8k')
  })

  it('starts every import with the train split, whatever the last "Import more" chose', async () => {
    scriptImports()
    const datasets = useDatasetsStore()
    const store = useDatasetImportStore()
    await datasets.openDataset(7)
    store.reset()
    expect(store.targetDatasetId).toBe(7)
    store.setPath('/data/held-out.jsonl')
    await store.runPreview()
    store.split = 'test'
    store.tagsText = 'held out'
    await store.startImport()
    expect(bridge.callsOf('datasets.import')[0]).toMatchObject({ datasetId: 7, split: 'test' })

    // Another file into the same dataset is another import.
    store.setPath('/data/more.jsonl')
    expect(store.split).toBe('train')
    store.split = 'validation'

    // Back at the list, with the panel open or opened anew: a new dataset's rows go to train.
    await datasets.openDataset(null)
    expect([store.split, store.tagsText]).toEqual(['train', ''])
    store.split = 'test'
    store.reset()
    store.setPath('/data/chats.jsonl')
    await store.runPreview()
    await store.startImport()
    expect(bridge.callsOf('datasets.import')[1]).toMatchObject({
      datasetName: 'chats',
      split: 'train',
      tags: []
    })
  })

  it('suggests the name of the next file unless the user typed one', async () => {
    scriptImports()
    const store = useDatasetImportStore()
    store.setPath('/data/chats.jsonl')
    await store.runPreview()
    expect(store.datasetName).toBe('chats')
    store.setPath('/data/stories.jsonl')
    await store.runPreview()
    expect(store.datasetName).toBe('stories')
    store.datasetName = 'my stories'
    store.setPath('/data/tales.jsonl')
    await store.runPreview()
    expect(store.datasetName).toBe('my stories')
  })

  it('will not import while a required column is unmapped', async () => {
    bridge.handle('datasets.previewImport', (input) =>
      ok({
        path: input.path,
        fileType: 'csv',
        columns: ['question', 'answer'],
        detected: null,
        // As main parses it: a mapping without columns maps none.
        mapping: input.mapping ? { columns: {}, ...input.mapping } : null,
        notes: ['no format fits'],
        fieldChoices: [],
        rows: []
      })
    )
    const store = useDatasetImportStore()
    store.setPath('/data/gsm8k.csv')
    await store.runPreview()
    expect(store.canImport).toBe(false)
    await store.setMapping({ format: 'prompt-completion', columns: { prompt: 'question' } })
    expect(store.missingFields).toEqual(['completion'])
    expect(store.canImport).toBe(false)
    await store.setMapping({
      format: 'prompt-completion',
      columns: { prompt: 'question', completion: 'answer' }
    })
    expect(store.canImport).toBe(true)
  })
})

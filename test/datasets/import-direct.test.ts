import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { importFile, type ImportHooks, type ImportRequest } from '../../src-main/datasets/import'
import { DEFERRED_INDEXING_ROWS } from '../../src-main/datasets/import-writer'
import { normalisedBatches, readInThread, type ReadBatch } from '../../src-main/datasets/import-reader'
import { defaultMapping } from '../../src-main/datasets/import-mapping'
import { indexSearchBacklog } from '../../src-main/datasets/search-index'
import { openStore, type Store } from '../../src-main/store'
import { ABANDONED_IMPORT_SECONDS, removeAbandonedImports } from '../../src-main/store/abandoned-imports'
import { StoreNotFoundError } from '../../src-main/store/errors'
import { tempDir } from '../helpers/temp'
import { importRequest, sampleCount } from './import-helpers'
import { makeTempDir, openTempStore } from '../store/helpers'

const MESSAGES = defaultMapping('messages', ['messages'])
/** Imports of these tests take the batch-by-batch way into a new dataset whatever the file's size. */
const DIRECT: ImportHooks = { directImportBytes: 0 }
/** …and these the staging way. */
const STAGED: ImportHooks = { directImportBytes: Number.MAX_SAFE_INTEGER }

function request(file: string, extra: Partial<ImportRequest> = {}): ImportRequest {
  return importRequest(file, MESSAGES, extra)
}

/** A messages line; every answer holds the word "zebra" and a word of its own. */
function messagesLine(i: number, padding = ''): string {
  return JSON.stringify({
    messages: [
      { role: 'user', content: `question ${i}${padding}` },
      { role: 'assistant', content: `zebra answer${i}` }
    ]
  })
}

function writeLines(file: string, lines: string[]): string {
  writeFileSync(file, lines.join('\n') + '\n')
  return file
}

/**
 * Rows of about 350 bytes: the reader cuts batches at 1 MiB chunks (about 3,000 of these rows), so
 * an import of BIG_ROWS reads five batches, and a new dataset's import commits its first
 * transaction (8,192 rows) after the third, before the last arrives.
 */
const BIG_ROWS = 14_000
const PADDING = ' lorem ipsum'.repeat(24)
const SOME_ROWS = 9000

function datasetCount(store: Store): number {
  return store.db.prepare('SELECT count(*) FROM datasets').pluck().get() as number
}

/** Samples as the table holds them, ids and timestamps aside. */
function sampleRows(store: Store, datasetId: number): unknown[] {
  return store.db
    .prepare(
      `SELECT conversation, content_hash, source_file, source_line, tags, split, revision, rating, deleted_at
       FROM samples WHERE dataset_id = ? ORDER BY id`
    )
    .all(datasetId)
}

/** What the samples table shows for a search (a count, capped at SEARCH_COUNT_CAP). */
function searchTotal(store: Store, datasetId: number, words: string): number {
  return store.datasets.querySamples(datasetId, { filter: { search: words } }).total
}

/** The dataset's samples the full-text index holds, counted without a cap. */
function indexedCount(store: Store, datasetId: number): number {
  return store.db
    .prepare<[string], number>('SELECT count(*) FROM sample_search WHERE sample_search MATCH ?')
    .pluck()
    .get(`meta : "d${datasetId}"`)!
}

const closers: (() => void)[] = []
afterEach(() => {
  for (const close of closers.splice(0)) close()
})

/** A second connection to the same store, as another process would have; closed after the test. */
function secondConnection(store: Store): Store {
  const other = openStore(store.dir)
  closers.push(() => other.close())
  return other
}

describe('importing into a new dataset batch by batch (directImportBytes: 0)', () => {
  let files: ReturnType<typeof tempDir>
  let big: string
  let withBadLines: string
  let bigWithLateBadLine: string
  beforeAll(() => {
    files = tempDir()
    const lines = Array.from({ length: BIG_ROWS }, (_, i) => messagesLine(i, PADDING))
    big = writeLines(join(files.dir, 'big.jsonl'), lines)
    // More rows than a transaction of the direct way takes, small enough for one batch.
    const withBad = Array.from({ length: SOME_ROWS }, (_, i) => messagesLine(i))
    withBad.splice(3, 0, '{not json')
    withBad.splice(8500, 0, '{"messages": "nope"}')
    withBadLines = writeLines(join(files.dir, 'with-bad-lines.jsonl'), withBad)
    bigWithLateBadLine = writeLines(join(files.dir, 'big-with-late-bad-line.jsonl'), [...lines, '{not json'])
  })
  afterAll(() => files.cleanup())

  it('stores the same samples, in the same order, and the same version, as the staging way', async () => {
    const staged = openTempStore()
    const direct = openTempStore()
    const options: Partial<ImportRequest> = {
      onBadRows: 'skip',
      tags: ['b', 'a'],
      split: 'validation',
      cutVersion: true
    }
    const viaStaging = await importFile(staged, request(withBadLines, options), STAGED)
    const viaDirect = await importFile(direct, request(withBadLines, options), DIRECT)
    expect(viaStaging).toMatchObject({ ok: true, imported: SOME_ROWS, badRowCount: 2 })
    expect(viaDirect).toMatchObject({ ok: true, imported: SOME_ROWS, badRowCount: 2 })
    if (!viaStaging.ok || !viaDirect.ok) return
    expect(viaDirect.badRows).toEqual(viaStaging.badRows)
    const rows = sampleRows(direct, viaDirect.datasetId)
    expect(rows).toHaveLength(SOME_ROWS)
    expect(rows).toEqual(sampleRows(staged, viaStaging.datasetId))
    expect(rows[0]).toMatchObject({
      source_line: 1,
      tags: '["a","b"]',
      split: 'validation',
      source_file: withBadLines
    })
    expect(rows.at(-1)).toMatchObject({ source_line: SOME_ROWS + 2 })
    const version = (store: Store, id: number | null) => store.datasets.getVersion(id!)
    expect(version(direct, viaDirect.versionId)).toMatchObject({
      sampleCount: SOME_ROWS,
      contentHash: version(staged, viaStaging.versionId)!.contentHash
    })
    expect(direct.datasets.list()).toMatchObject([
      { id: viaDirect.datasetId, name: 'data', sampleCount: SOME_ROWS }
    ])
  })

  it('keeps the dataset hidden from everyone until the import commits', async () => {
    const store = openTempStore()
    const other = secondConnection(store)
    const seen: { listed: number; hiddenDatasets: number; hiddenSamples: number }[] = []
    let hiddenId = 0
    const outcome = await importFile(store, request(big), {
      ...DIRECT,
      onProgress: () => {
        hiddenId = other.db.prepare('SELECT id FROM datasets').pluck().get() as number
        seen.push({
          listed: other.datasets.list().length,
          hiddenDatasets: datasetCount(other),
          hiddenSamples: sampleCount(other)
        })
        expect(other.datasets.get(hiddenId)).toBeNull()
        expect(store.datasets.get(hiddenId)).toBeNull()
        expect(() => other.datasets.querySamples(hiddenId)).toThrow(StoreNotFoundError)
      }
    })
    expect(seen.every((s) => s.listed === 0 && s.hiddenDatasets === 1)).toBe(true)
    // Rows were committed batch by batch, before the last batch was read, yet nobody saw their dataset.
    expect(seen.slice(0, -1).some((s) => s.hiddenSamples >= 8192)).toBe(true)
    expect(outcome).toMatchObject({ ok: true, datasetId: hiddenId, imported: BIG_ROWS })
    expect(other.datasets.list()).toMatchObject([{ id: hiddenId, name: 'data', sampleCount: BIG_ROWS }])
    expect(other.datasets.get(hiddenId)).toMatchObject({ name: 'data' })
    expect(other.db.prepare('SELECT import_heartbeat_at FROM datasets').pluck().get()).toBeNull()
  })

  it('leaves no dataset and no samples when cancelled after rows were committed', async () => {
    const store = openTempStore()
    const checkpoints = store.db.pragma('wal_autocheckpoint', { simple: true })
    const cancel = new AbortController()
    const run = importFile(store, request(big), {
      ...DIRECT,
      signal: cancel.signal,
      onProgress: () => {
        if (sampleCount(store) > 0) cancel.abort()
      }
    })
    await expect(run).rejects.toThrow('datasets.import: cancelled')
    expect(datasetCount(store)).toBe(0)
    expect(sampleCount(store)).toBe(0)
    // The import turned automatic checkpoints off while it ran, and back on when it ended.
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(checkpoints)
    // The backlog may still name the ids; indexing skips them.
    expect(await indexSearchBacklog(store)).toBeGreaterThan(0)
    expect(store.db.prepare('SELECT count(*) FROM sample_search').pluck().get()).toBe(0)
  })

  it('leaves nothing when cancelled as the last batch is written', async () => {
    const store = openTempStore()
    const file = writeLines(join(makeTempDir(), 'small.jsonl'), [messagesLine(1), messagesLine(2)])
    const cancel = new AbortController()
    const run = importFile(store, request(file), {
      ...DIRECT,
      signal: cancel.signal,
      onProgress: () => cancel.abort()
    })
    await expect(run).rejects.toThrow('datasets.import: cancelled')
    expect(datasetCount(store)).toBe(0)
    expect(sampleCount(store)).toBe(0)
  })

  it('leaves no dataset and no samples when a bad row aborts it after rows were committed', async () => {
    const store = openTempStore()
    let committedBefore = 0
    const outcome = await importFile(store, request(bigWithLateBadLine), {
      ...DIRECT,
      onProgress: () => (committedBefore = sampleCount(store))
    })
    expect(committedBefore).toBeGreaterThan(0)
    expect(outcome).toMatchObject({ ok: false, badRowCount: 1, badRows: [{ line: BIG_ROWS + 1 }] })
    expect(datasetCount(store)).toBe(0)
    expect(sampleCount(store)).toBe(0)
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBeGreaterThan(0)
  })

  it('leaves nothing when the file turns out unreadable', async () => {
    const store = openTempStore()
    const file = join(makeTempDir(), 'not-an-array.json')
    writeFileSync(file, '{"messages": []}')
    await expect(importFile(store, request(file, { fileType: 'json' }), DIRECT)).rejects.toThrow(
      /not-an-array\.json/
    )
    expect(datasetCount(store)).toBe(0)
  })

  it('leaves search indexing to indexSearchBacklog', async () => {
    const store = openTempStore()
    const file = writeLines(
      join(makeTempDir(), 'few.jsonl'),
      Array.from({ length: 30 }, (_, i) => messagesLine(i))
    )
    const outcome = await importFile(store, request(file), DIRECT)
    if (!outcome.ok) throw new Error(outcome.message)
    expect(searchTotal(store, outcome.datasetId, 'zebra')).toBe(0)
    expect(store.searchIndex.backlogSize()).toBe(30)
    expect(store.searchIndex.unindexedSamples(outcome.datasetId)).toBe(30)
    const progress: [number, number][] = []
    expect(
      await indexSearchBacklog(store, { onProgress: (done, total) => progress.push([done, total]) })
    ).toBe(30)
    expect(progress.at(-1)).toEqual([30, 30])
    expect(store.searchIndex.backlogSize()).toBe(0)
    expect(searchTotal(store, outcome.datasetId, 'zebra')).toBe(30)
    expect(searchTotal(store, outcome.datasetId, 'answer17')).toBe(1)
  })

  it('joins a dataset of the same name created while it ran', async () => {
    const store = openTempStore()
    const other = secondConnection(store)
    const file = writeLines(
      join(makeTempDir(), 'few.jsonl'),
      Array.from({ length: 20 }, (_, i) => messagesLine(i))
    )
    let created = 0
    const outcome = await importFile(store, request(file), {
      ...DIRECT,
      onProgress: () => {
        const dataset = other.datasets.create({ name: 'DATA' })
        other.datasets.addSamples(dataset.id, [
          { conversation: { messages: [{ role: 'user', content: 'x' }] } }
        ])
        created = dataset.id
      }
    })
    expect(outcome).toMatchObject({ ok: true, datasetId: created, imported: 20 })
    expect(store.datasets.list()).toMatchObject([{ id: created, name: 'DATA', sampleCount: 21 }])
    // The hidden dataset is gone with nothing left in it.
    expect(datasetCount(store)).toBe(1)
    await indexSearchBacklog(store)
    expect(searchTotal(store, created, 'zebra')).toBe(20)
  })
})

describe('removeAbandonedImports', () => {
  function hiddenDataset(store: Store, name: string, heartbeatSecondsAgo: number): number {
    const id = store.db
      .prepare<[string, string], number>(
        `INSERT INTO datasets (name, import_heartbeat_at)
         VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?)) RETURNING id`
      )
      .pluck()
      .get(name, `-${heartbeatSecondsAgo} seconds`)!
    store.db
      .prepare(
        "INSERT INTO samples (dataset_id, conversation, content_hash) VALUES (?, '{\"messages\":[]}', 'h')"
      )
      .run(id)
    return id
  }

  it('removes hidden datasets whose heartbeat stopped, with their samples, and keeps the rest', () => {
    const store = openTempStore()
    const visible = store.datasets.create({ name: 'visible' })
    const stale = hiddenDataset(store, 'stale', ABANDONED_IMPORT_SECONDS + 60)
    const fresh = hiddenDataset(store, 'fresh', 5)
    expect(removeAbandonedImports(store.db)).toBe(1)
    expect(store.db.prepare('SELECT id FROM datasets ORDER BY id').pluck().all()).toEqual([visible.id, fresh])
    expect(store.db.prepare('SELECT count(*) FROM samples WHERE dataset_id = ?').pluck().get(stale)).toBe(0)
    expect(removeAbandonedImports(store.db)).toBe(0)
  })

  it('runs when a new dataset import starts', async () => {
    const store = openTempStore()
    hiddenDataset(store, 'stale', ABANDONED_IMPORT_SECONDS * 10)
    const file = writeLines(join(makeTempDir(), 'one.jsonl'), [messagesLine(1)])
    await importFile(store, request(file), DIRECT)
    // (The new dataset may take the freed id: only the names tell them apart.)
    expect(store.db.prepare('SELECT name FROM datasets').pluck().all()).toEqual(['data'])
    expect(store.db.prepare("SELECT count(*) FROM samples WHERE content_hash = 'h'").pluck().get()).toBe(0)
  })
})

describe('the search-index job after a killed import', () => {
  it('removes what the killed import left instead of indexing it', async () => {
    const store = openTempStore()
    const id = store.db
      .prepare<[string], number>(
        `INSERT INTO datasets (name, import_heartbeat_at)
         VALUES ('killed', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?)) RETURNING id`
      )
      .pluck()
      .get(`-${ABANDONED_IMPORT_SECONDS * 2} seconds`)!
    const first = store.searchIndex.nextSampleId()
    store.searchIndex.defer(first, first)
    store.db
      .prepare(`INSERT INTO samples (dataset_id, conversation, content_hash) VALUES (?, ?, 'h')`)
      .run(id, JSON.stringify({ messages: [{ role: 'user', content: 'zebra' }] }))
    await indexSearchBacklog(store)
    expect(datasetCount(store)).toBe(0)
    expect(sampleCount(store)).toBe(0)
    expect(store.searchIndex.backlogSize()).toBe(0)
    expect(
      store.db.prepare(`SELECT count(*) FROM sample_search WHERE sample_search MATCH 'zebra'`).pluck().get()
    ).toBe(0)
  })
})

describe('importing into an existing dataset (staging)', () => {
  it(`defers search indexing from ${DEFERRED_INDEXING_ROWS} rows on, and indexes smaller imports at once`, async () => {
    const store = openTempStore()
    const { id } = store.datasets.create({ name: 'existing' })
    const dir = makeTempDir()
    const lines = Array.from({ length: DEFERRED_INDEXING_ROWS }, (_, i) => messagesLine(i))
    const justBelow = writeLines(join(dir, 'below.jsonl'), lines.slice(1))
    const atThreshold = writeLines(join(dir, 'at.jsonl'), lines)
    const into = (file: string) => request(file, { datasetName: undefined, datasetId: id })

    expect(await importFile(store, into(justBelow), { readInThisThread: true })).toMatchObject({ ok: true })
    expect(store.searchIndex.backlogSize()).toBe(0)
    expect(indexedCount(store, id)).toBe(DEFERRED_INDEXING_ROWS - 1)
    expect(searchTotal(store, id, 'answer1')).toBe(1)

    expect(await importFile(store, into(atThreshold), { readInThisThread: true })).toMatchObject({ ok: true })
    expect(store.searchIndex.backlogSize()).toBe(DEFERRED_INDEXING_ROWS)
    expect(store.searchIndex.unindexedSamples(id)).toBe(DEFERRED_INDEXING_ROWS)
    expect(indexedCount(store, id)).toBe(DEFERRED_INDEXING_ROWS - 1)
    // Only the second file has answer0.
    expect(searchTotal(store, id, 'answer0')).toBe(0)
    expect(searchTotal(store, id, 'answer1')).toBe(1)
    await indexSearchBacklog(store)
    expect(indexedCount(store, id)).toBe(2 * DEFERRED_INDEXING_ROWS - 1)
    expect(searchTotal(store, id, 'answer0')).toBe(1)
    expect(searchTotal(store, id, 'answer1')).toBe(2)
  })
})

describe('readInThread', () => {
  async function collect(batches: AsyncGenerator<ReadBatch>): Promise<ReadBatch[]> {
    const all: ReadBatch[] = []
    for await (const batch of batches) all.push(batch)
    return all
  }

  it('yields the same batches as normalisedBatches, bad lines included', async () => {
    const file = writeLines(join(makeTempDir(), 'mixed.jsonl'), [
      messagesLine(1),
      '{not json',
      '[1, 2]',
      JSON.stringify({ messages: [{ role: 'user', content: 'only a question' }] }),
      messagesLine(2)
    ])
    const reader = { file, fileType: 'jsonl' as const, mapping: MESSAGES }
    const inThread = await collect(readInThread(reader))
    expect(inThread).toEqual(await collect(normalisedBatches(reader)))
    expect(inThread.flatMap((b) => b.rows.map((r) => r.line))).toEqual([1, 5])
    expect(inThread.flatMap((b) => b.bad.map((r) => r.line))).toEqual([2, 3, 4])
    expect(inThread[0].rows[0].hash).toMatch(/^[0-9a-f]{64}$/)
  })

  it('surfaces a structural error of the file as its error', async () => {
    const file = join(makeTempDir(), 'object.json')
    writeFileSync(file, '{"messages": []}')
    const reader = { file, fileType: 'json' as const, mapping: MESSAGES }
    const inline = await collect(normalisedBatches(reader)).catch((error: Error) => error)
    expect(inline).toBeInstanceOf(Error)
    await expect(collect(readInThread(reader))).rejects.toThrow((inline as Error).message)
  })
})

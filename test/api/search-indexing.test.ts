import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createApiContext } from '../../src-main/api/context'
import { invoke } from '../../src-main/api/dispatch'
import { importFile } from '../../src-main/datasets/import'
import { SEARCH_INDEX_JOB } from '../../src-main/datasets/jobs'
import { defaultMapping } from '../../src-main/datasets/import-mapping'
import { openStore, type Store } from '../../src-main/store'
import { tempDir } from '../helpers/temp'

const ROWS = 30

function writeMessages(file: string, word: string): string {
  const line = (i: number) =>
    JSON.stringify({
      messages: [
        { role: 'user', content: `question ${i}` },
        { role: 'assistant', content: `${word} answer${i}` }
      ]
    })
  writeFileSync(file, Array.from({ length: ROWS }, (_, i) => line(i)).join('\n') + '\n')
  return file
}

function searchTotal(store: Store, datasetId: number, words: string): number {
  return store.datasets.querySamples(datasetId, { filter: { search: words } }).total
}

describe('search indexing in the background (SearchIndexing)', () => {
  let dir: ReturnType<typeof tempDir>
  let storeDir: string
  let datasetId: number
  let api: ReturnType<typeof createApiContext> | null
  beforeEach(async () => {
    dir = tempDir()
    storeDir = join(dir.dir, 'store')
    api = null
    // A store left with samples committed but not indexed, as a large import (or a killed app) leaves it.
    const store = openStore(storeDir)
    try {
      const outcome = await importFile(
        store,
        {
          file: writeMessages(join(dir.dir, 'zebras.jsonl'), 'zebra'),
          fileType: 'jsonl',
          mapping: defaultMapping('messages', ['messages']),
          datasetName: 'zebras',
          split: 'train',
          tags: [],
          onBadRows: 'abort',
          cutVersion: false,
          note: ''
        },
        { directImportBytes: 0, readInThisThread: true }
      )
      if (!outcome.ok) throw new Error(outcome.message)
      datasetId = outcome.datasetId
      expect(store.searchIndex.backlogSize()).toBe(ROWS)
    } finally {
      store.close()
    }
  })
  afterEach(async () => {
    await api?.dispose()
    dir.cleanup()
  })

  it('starts indexing the backlog when the context opens', async () => {
    api = createApiContext(storeDir)
    expect(api.jobs.list().map((job) => job.kind)).toEqual([SEARCH_INDEX_JOB])
    await api.searchIndex.idle()
    expect(api.store.searchIndex.backlogSize()).toBe(0)
    expect(api.jobs.list()).toMatchObject([{ status: 'completed', result: { indexed: ROWS } }])
    expect(searchTotal(api.store, datasetId, 'zebra')).toBe(ROWS)
    // Nothing left: another ensure() starts no job.
    api.searchIndex.ensure()
    expect(api.jobs.list()).toHaveLength(1)
  })

  it('starts nothing on open when told not to', async () => {
    api = createApiContext(storeDir, { indexSearchOnOpen: false })
    expect(api.jobs.list()).toEqual([])
    await api.searchIndex.idle()
    expect(api.store.searchIndex.backlogSize()).toBe(ROWS)
    expect(searchTotal(api.store, datasetId, 'zebra')).toBe(0)
    // A search says how many samples it cannot find yet; browsing without one does not ask.
    const ctx = { ...api, transport: 'direct' as const }
    const searched = await invoke('datasets.samples', { id: datasetId, filter: { search: 'zebra' } }, ctx)
    expect(searched).toMatchObject({ total: 0, unindexed: ROWS })
    expect(await invoke('datasets.samples', { id: datasetId }, ctx)).toMatchObject({
      total: ROWS,
      unindexed: 0
    })
  })

  it('catches up after an import through the API', async () => {
    api = createApiContext(storeDir, { indexSearchOnOpen: false })
    const ctx = { ...api, transport: 'direct' as const }
    const result = await invoke(
      'datasets.import',
      { path: writeMessages(join(dir.dir, 'lions.jsonl'), 'lion'), datasetName: 'lions' },
      ctx
    )
    expect(result.imported).toBe(ROWS)
    expect(api.jobs.list().filter((job) => job.kind === SEARCH_INDEX_JOB)).toHaveLength(1)
    await api.searchIndex.idle()
    expect(api.store.searchIndex.backlogSize()).toBe(0)
    expect(searchTotal(api.store, datasetId, 'zebra')).toBe(ROWS)
    expect(searchTotal(api.store, result.dataset.id, 'lion')).toBe(ROWS)
  })

  it('leaves nothing behind when more is deferred while the job runs', async () => {
    api = createApiContext(storeDir)
    const store = api.store
    const more = store.db.transaction(() => {
      const first = store.searchIndex.nextSampleId()
      store.searchIndex.defer(first, first + 1)
      store.datasets.addSamples(datasetId, [
        { conversation: { messages: [{ role: 'user', content: 'walrus one' }] } },
        { conversation: { messages: [{ role: 'user', content: 'walrus two' }] } }
      ])
    })
    more()
    api.searchIndex.ensure()
    await api.searchIndex.idle()
    expect(store.searchIndex.backlogSize()).toBe(0)
    expect(searchTotal(store, datasetId, 'walrus')).toBe(2)
  })
})

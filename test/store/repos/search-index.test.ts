import { describe, expect, it } from 'vitest'
import type { Store } from '../../../src-main/store'
import { chat, openTempStore } from '../helpers'

function backlogRanges(store: Store): { first_id: number; last_id: number }[] {
  return store.db.prepare('SELECT first_id, last_id FROM sample_search_backlog ORDER BY first_id').all() as {
    first_id: number
    last_id: number
  }[]
}

function search(store: Store, query: string): number[] {
  return store.db
    .prepare<[string], number>('SELECT rowid FROM sample_search WHERE sample_search MATCH ? ORDER BY rowid')
    .pluck()
    .all(query)
}

/** Adds samples whose ids go to the backlog first, as an import does; returns their ids. */
function addBacklogged(store: Store, datasetId: number, answers: string[]): number[] {
  return store.db.transaction(() => {
    const first = store.searchIndex.nextSampleId()
    store.searchIndex.defer(first, first + answers.length - 1)
    const ids = store.datasets.addSamples(
      datasetId,
      answers.map((answer) => ({ conversation: chat('question', answer) }))
    )
    expect(ids).toEqual(answers.map((_, i) => first + i))
    return ids
  })()
}

describe('store.searchIndex', () => {
  it('extends a range the new one continues, as one row, and adds a disjoint one as another', () => {
    const store = openTempStore()
    store.searchIndex.defer(5, 9)
    store.searchIndex.defer(10, 12)
    expect(backlogRanges(store)).toEqual([{ first_id: 5, last_id: 12 }])
    store.searchIndex.defer(20, 21)
    expect(backlogRanges(store)).toEqual([
      { first_id: 5, last_id: 12 },
      { first_id: 20, last_id: 21 }
    ])
    // An empty range (an import of no rows) changes nothing.
    store.searchIndex.defer(30, 29)
    expect(backlogRanges(store)).toHaveLength(2)
    expect(store.searchIndex.backlogSize()).toBe(8 + 2)
  })

  it('hands out the next sample id, never one a deleted sample had', () => {
    const store = openTempStore()
    expect(store.searchIndex.nextSampleId()).toBe(1)
    const dataset = store.datasets.create({ name: 'd' })
    const ids = store.datasets.addSamples(dataset.id, [
      { conversation: chat('a', 'b') },
      { conversation: chat('c', 'd') }
    ])
    expect(store.searchIndex.nextSampleId()).toBe(ids[1] + 1)
    store.datasets.delete(dataset.id)
    expect(store.searchIndex.nextSampleId()).toBe(ids[1] + 1)
  })

  it('indexes a batch with the content samples have when it runs, shrinking then dropping the range', () => {
    const store = openTempStore()
    const dataset = store.datasets.create({ name: 'd' })
    const ids = addBacklogged(store, dataset.id, ['penguin one', 'penguin two', 'penguin three'])
    expect(search(store, 'penguin')).toEqual([])
    // Edited while waiting: still not searchable, under either text.
    store.datasets.updateSample(ids[0], { conversation: chat('question', 'walrus') })
    expect(search(store, 'walrus OR penguin')).toEqual([])

    expect(store.searchIndex.indexNext(2)).toBe(2)
    expect(backlogRanges(store)).toEqual([{ first_id: ids[2], last_id: ids[2] }])
    expect(store.searchIndex.backlogSize()).toBe(1)
    expect(search(store, 'walrus')).toEqual([ids[0]])
    expect(search(store, 'penguin')).toEqual([ids[1]])

    expect(store.searchIndex.indexNext(100)).toBe(1)
    expect(backlogRanges(store)).toEqual([])
    expect(search(store, 'penguin')).toEqual([ids[1], ids[2]])
    expect(store.searchIndex.indexNext(100)).toBe(0)

    // Indexed now, later edits reindex at once through the trigger.
    store.datasets.updateSample(ids[1], { conversation: chat('question', 'seal') })
    expect(search(store, 'seal')).toEqual([ids[1]])
    expect(search(store, 'penguin')).toEqual([ids[2]])
  })

  it('takes ranges oldest first and skips ids whose samples were purged meanwhile', () => {
    const store = openTempStore()
    const dataset = store.datasets.create({ name: 'd' })
    const first = addBacklogged(store, dataset.id, ['alpha', 'beta', 'gamma'])
    const normal = store.datasets.addSamples(dataset.id, [{ conversation: chat('question', 'delta') }])
    const second = addBacklogged(store, dataset.id, ['epsilon'])
    expect(backlogRanges(store)).toHaveLength(2)
    store.datasets.softDeleteSample(first[1])
    store.datasets.cutVersion(dataset.id) // purges the soft-deleted sample
    expect(store.datasets.getSample(first[1])).toBeNull()
    expect(store.searchIndex.backlogSize()).toBe(4)

    expect(store.searchIndex.indexNext(10)).toBe(3)
    expect(search(store, 'meta : "d' + dataset.id + '"')).toEqual([first[0], first[2], normal[0]])
    expect(store.searchIndex.indexNext(10)).toBe(1)
    expect(search(store, 'epsilon')).toEqual(second)
    expect(store.searchIndex.backlogSize()).toBe(0)
  })

  it('counts unindexed samples per dataset, deleted ones included, purged ones not', () => {
    const store = openTempStore()
    const a = store.datasets.create({ name: 'a' })
    const b = store.datasets.create({ name: 'b' })
    store.datasets.addSamples(a.id, [{ conversation: chat('q', 'indexed at once') }])
    const inA = addBacklogged(store, a.id, ['a1', 'a2', 'a3'])
    addBacklogged(store, b.id, ['b1'])
    store.datasets.softDeleteSample(inA[0])
    expect(store.searchIndex.unindexedSamples(a.id)).toBe(3)
    expect(store.searchIndex.unindexedSamples(b.id)).toBe(1)
    store.datasets.softDeleteSample(inA[1])
    store.datasets.cutVersion(a.id)
    expect(store.searchIndex.unindexedSamples(a.id)).toBe(1)
    // The backlog still counts purged ids: it is an upper bound.
    expect(store.searchIndex.backlogSize()).toBe(4)
    while (store.searchIndex.indexNext(2) > 0);
    expect(store.searchIndex.unindexedSamples(a.id)).toBe(0)
    expect(store.searchIndex.unindexedSamples(b.id)).toBe(0)
  })

  it('makes backlogged samples findable by datasets.querySamples search only once indexed', () => {
    const store = openTempStore()
    const dataset = store.datasets.create({ name: 'd' })
    const ids = addBacklogged(store, dataset.id, ['the quick fox', 'a lazy dog', 'another fox'])
    const fox = () => store.datasets.querySamples(dataset.id, { filter: { search: 'fox' } })
    // Also through the path that combines search with conditions on the samples table.
    const taggedFox = () =>
      store.datasets.querySamples(dataset.id, { filter: { search: 'fox', untagged: true } }).total
    expect(fox().total).toBe(0)
    expect(taggedFox()).toBe(0)
    store.searchIndex.indexNext(100)
    expect(fox().total).toBe(2)
    expect(fox().rows.map((row) => row.id)).toEqual([ids[0], ids[2]])
    expect(taggedFox()).toBe(2)
  })
})

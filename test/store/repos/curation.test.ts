import { describe, expect, it } from 'vitest'
import { SEARCH_COUNT_CAP } from '../../../src-main/store/repos/sample-browse'
import type { NewSample } from '../../../src-main/store/repos/samples'
import type { Conversation, SampleFilter } from '../../../src-preload/contract'
import { chat, openTempStore } from '../helpers'

function seeded() {
  const store = openTempStore()
  const repo = store.datasets
  const { id: datasetId } = repo.create({ name: 'curated' })
  const samples: NewSample[] = [
    { conversation: chat('What is the capital of France?', 'Paris.'), tags: ['geo'], split: 'train' },
    { conversation: chat('What is 2+2?', 'Four.'), tags: ['math', 'easy'], split: 'train' },
    { conversation: chat('What is the capital of France?', 'Paris.'), tags: [], split: 'validation' },
    {
      conversation: {
        messages: [
          { role: 'system', content: 'Be terse.' },
          { role: 'user', content: 'Integrate x dx.' },
          { role: 'assistant', content: 'x^2/2 + C' }
        ]
      },
      tags: ['math'],
      split: 'test',
      rating: 5
    },
    {
      conversation: {
        ...chat('Favourite colour?', 'Blue.'),
        rejected: [{ role: 'assistant', content: 'Hate colours.' }]
      },
      tags: ['pref']
    }
  ]
  const ids = repo.addSamples(datasetId, samples, { author: 'seed' })
  return { store, repo, datasetId, ids }
}

describe('curation: browsing', () => {
  it('pages through filtered samples with the total, and rows carry previews and duplicate counts', () => {
    const { repo, datasetId, ids } = seeded()
    const page = repo.querySamples(datasetId, { limit: 2, offset: 1 })
    expect(page.total).toBe(5)
    expect(page.rows.map((r) => r.id)).toEqual([ids[1], ids[2]])
    expect(page.rows[1]).toMatchObject({
      prompt: 'What is the capital of France?',
      response: 'Paris.',
      roles: ['user', 'assistant'],
      messageCount: 2,
      exactDuplicates: 1,
      edited: false,
      isPreference: false,
      tokenCount: null
    })
  })

  it.each([
    [{ search: 'capital france' }, [0, 2]],
    [{ search: '"capital of"' }, [0, 2]],
    [{ search: 'integ*' }, [3]],
    [{ search: 'colours' }, [4]],
    [{ search: 'OR AND ( "' }, []],
    [{ regex: '^x\\^2', regexFlags: '' }, [3]],
    [{ regex: 'PARIS', regexFlags: 'i' }, [0, 2]],
    [{ tags: ['math'] }, [1, 3]],
    [{ tags: ['math', 'easy'] }, [1]],
    [{ excludeTags: ['math'] }, [0, 2, 4]],
    [{ untagged: true }, [2]],
    [{ split: 'validation' }, [2]],
    [{ minMessages: 3 }, [3]],
    [{ hasRole: 'system' }, [3]],
    [{ duplicate: 'exact' }, [0, 2]],
    [{ minRating: 4 }, [3]],
    [{ preference: true }, [4]],
    [{ search: 'capital', split: 'validation' }, [2]],
    [{ search: 'capital', tags: ['geo'] }, [0]]
  ] as [SampleFilter, number[]][])('filters by %j', (filter, expected) => {
    const { repo, datasetId, ids } = seeded()
    expect(repo.sampleIds(datasetId, filter)).toEqual(expected.map((i) => ids[i]))
    expect(repo.querySamples(datasetId, { filter }).total).toBe(expected.length)
  })

  it('answers the regex (a+)+$ over a long run of "a" followed by "b", which a backtracking engine never finishes', () => {
    const store = openTempStore()
    const { id: datasetId } = store.datasets.create({ name: 'redos' })
    const ids = store.datasets.addSamples(
      datasetId,
      [
        { conversation: chat('Spell it.', `${'a'.repeat(50_000)}b`) },
        { conversation: chat('A fruit?', 'banana') }
      ],
      { author: 'seed' }
    )
    expect(store.datasets.sampleIds(datasetId, { regex: '(a+)+$' })).toEqual([ids[1]])
  })

  it('sorts by whitelisted columns, nulls last, ties by id', () => {
    const { repo, datasetId, ids } = seeded()
    const order = (column: 'prompt' | 'messageCount' | 'rating', direction: 'asc' | 'desc') =>
      repo.querySamples(datasetId, { sort: { column, direction } }).rows.map((r) => ids.indexOf(r.id))
    expect(order('prompt', 'asc')).toEqual([4, 3, 1, 0, 2])
    expect(order('messageCount', 'desc')).toEqual([3, 4, 2, 1, 0])
    expect(order('rating', 'desc')).toEqual([3, 4, 2, 1, 0])
  })

  it('filters and sorts by token counts of the current content only', () => {
    const { repo, datasetId, ids } = seeded()
    repo.saveTokenCounts(
      'default',
      ids.map((id, i) => ({
        sampleId: id,
        contentHash: repo.getSample(id)!.contentHash,
        tokens: 10 * (i + 1)
      }))
    )
    expect(repo.sampleIds(datasetId, { tokenizer: 'default', minTokens: 25, maxTokens: 45 })).toEqual([
      ids[2],
      ids[3]
    ])
    const page = repo.querySamples(datasetId, {
      tokenizer: 'default',
      sort: { column: 'tokenCount', direction: 'desc' }
    })
    expect(page.rows.map((r) => r.tokenCount)).toEqual([50, 40, 30, 20, 10])
    // An edit makes the stored count stale: it no longer shows or matches.
    repo.updateSample(ids[2], { conversation: chat('changed', 'content') })
    expect(repo.sampleDetail(ids[2], 'default')?.tokenCount).toBeNull()
    expect(repo.sampleIds(datasetId, { tokenizer: 'default', minTokens: 25, maxTokens: 45 })).toEqual([
      ids[3]
    ])
    expect(() => repo.sampleIds(datasetId, { minTokens: 1 })).toThrow(/needs a tokenizer/)
  })

  it('answers a plain search from the index alone, in either id order, and follows deletions', () => {
    const { repo, datasetId, ids } = seeded()
    const other = repo.create({ name: 'other' })
    repo.addSamples(other.id, [{ conversation: chat('What is the capital of Spain?', 'Madrid.') }])
    const search = (extra: Partial<SampleFilter> = {}, direction: 'asc' | 'desc' = 'asc', offset = 0) =>
      repo.querySamples(datasetId, {
        filter: { search: 'capital', ...extra },
        sort: { column: 'id', direction },
        offset
      })
    expect(search()).toMatchObject({ total: 2, rows: [{ id: ids[0] }, { id: ids[2] }] })
    expect(search({}, 'desc').rows.map((r) => r.id)).toEqual([ids[2], ids[0]])
    expect(search({}, 'asc', 1).rows.map((r) => r.id)).toEqual([ids[2]])
    repo.softDeleteSample(ids[0])
    expect(search().rows.map((r) => r.id)).toEqual([ids[2]])
    expect(search({ deleted: 'only' }).rows.map((r) => r.id)).toEqual([ids[0]])
    repo.restoreSample(ids[0])
    repo.updateSample(ids[2], { split: 'test' })
    expect(search({ split: 'test' }).rows.map((r) => r.id)).toEqual([ids[2]])
    expect(search({ split: 'validation' }).total).toBe(0)
  })

  it('leaves out the meta tokens that narrow nothing, and still narrows when they start to', () => {
    const store = openTempStore()
    const repo = store.datasets
    const { id: datasetId } = repo.create({ name: 'only one' })
    const ids = repo.addSamples(datasetId, [
      { conversation: chat('red fox', 'a'), split: 'train' },
      { conversation: chat('red hen', 'b'), split: 'train' }
    ])
    const found = (filter: Partial<SampleFilter> = {}) =>
      repo.querySamples(datasetId, { filter: { search: 'red', ...filter } }).rows.map((r) => r.id)
    // One dataset, nothing deleted, everything in train: the search alone decides.
    expect(found()).toEqual(ids)
    expect(found({ split: 'train' })).toEqual(ids)
    expect(found({ split: 'test' })).toEqual([])
    repo.softDeleteSample(ids[0])
    expect(found()).toEqual([ids[1]])
    expect(found({ deleted: 'only' })).toEqual([ids[0]])
    repo.restoreSample(ids[0])
    repo.updateSample(ids[1], { split: 'validation' })
    expect(found({ split: 'train' })).toEqual([ids[0]])
    const other = repo.create({ name: 'second' })
    repo.addSamples(other.id, [{ conversation: chat('red panda', 'c') }])
    expect(found()).toEqual(ids)
  })

  it('counts a search up to the cap at once, and exactly when asked', () => {
    const store = openTempStore()
    const repo = store.datasets
    const { id: datasetId } = repo.create({ name: 'many' })
    const samples = Array.from({ length: SEARCH_COUNT_CAP + 5 }, (_, i) => ({
      conversation: chat(`fox ${i}`, 'x')
    }))
    repo.addSamples(datasetId, samples)
    const capped = repo.querySamples(datasetId, { filter: { search: 'fox' }, limit: 10 })
    expect(capped).toMatchObject({ total: SEARCH_COUNT_CAP, totalExact: false })
    expect(capped.rows).toHaveLength(10)
    // A window beyond the cap still counts what it shows.
    const far = repo.querySamples(datasetId, {
      filter: { search: 'fox' },
      offset: SEARCH_COUNT_CAP,
      limit: 10
    })
    expect(far.total).toBe(SEARCH_COUNT_CAP + 5)
    expect(
      repo.querySamples(datasetId, { filter: { search: 'fox' }, limit: 0, exactTotal: true })
    ).toMatchObject({
      total: SEARCH_COUNT_CAP + 5,
      totalExact: true
    })
    expect(repo.querySamples(datasetId, { filter: { search: '"fox 17"' } })).toMatchObject({
      total: 1,
      totalExact: true
    })
  })

  it('hides soft-deleted samples unless asked, and shows edited ones', () => {
    const { repo, datasetId, ids } = seeded()
    repo.softDeleteSample(ids[0])
    repo.updateSample(ids[1], { rating: 3 })
    expect(repo.sampleIds(datasetId)).toEqual([ids[1], ids[2], ids[3], ids[4]])
    expect(repo.sampleIds(datasetId, { deleted: 'only' })).toEqual([ids[0]])
    expect(repo.sampleIds(datasetId, { deleted: 'include' })).toHaveLength(5)
    expect(repo.sampleIds(datasetId, { edited: true })).toEqual([ids[1]])
    // The deleted copy no longer counts as a duplicate.
    expect(repo.sampleIds(datasetId, { duplicate: 'exact' })).toEqual([])
  })
})

describe('curation: edits, history, undo', () => {
  it('records who changed what, and undo goes back one revision as a new revision', () => {
    const { repo, ids } = seeded()
    const edited: Conversation = {
      messages: [
        { role: 'user', content: 'What is the capital of France?' },
        { role: 'assistant', content: 'Paris, on the Seine.', loss_weight: 0.5 }
      ]
    }
    repo.updateSample(ids[0], { conversation: edited }, { author: 'ana', note: 'more detail' })
    repo.updateSample(ids[0], { tags: ['geo', 'europe'] }, { author: 'ben' })
    const undone = repo.undoSample(ids[0], 'ben')
    expect(undone).toMatchObject({ revision: 4, tags: ['geo'], edited: true })
    expect(undone.conversation).toEqual(edited)
    expect(repo.history(ids[0]).map((h) => [h.revision, h.author, h.changed])).toEqual([
      [1, 'seed', ['conversation', 'tags', 'split', 'rating']],
      [2, 'ana', ['conversation']],
      [3, 'ben', ['tags']],
      [4, 'ben', ['tags']]
    ])
    expect(repo.history(ids[0])[3].note).toBe('undo revision 3')
    expect(() => repo.undoSample(ids[1], 'x')).toThrow(/has no earlier revision/)
  })

  it('applies bulk actions in one transaction, one revision per changed sample', () => {
    const { repo, datasetId, ids } = seeded()
    expect(repo.bulk(datasetId, [ids[0], ids[1]], { kind: 'tag', tags: ['checked'] }, 'ana')).toBe(2)
    expect(repo.bulk(datasetId, [ids[0], ids[1]], { kind: 'tag', tags: ['checked'] }, 'ana')).toBe(0)
    expect(repo.bulk(datasetId, [ids[1]], { kind: 'untag', tags: ['easy'] }, 'ana')).toBe(1)
    expect(repo.getSample(ids[1])!.tags).toEqual(['checked', 'math'])
    expect(repo.bulk(datasetId, [ids[0], ids[3]], { kind: 'setSplit', split: 'validation' }, 'ana')).toBe(2)
    expect(repo.bulk(datasetId, [ids[2]], { kind: 'rate', rating: -1 }, 'ana')).toBe(1)
    expect(repo.bulk(datasetId, [ids[2], ids[4]], { kind: 'delete' }, 'ana')).toBe(2)
    expect(repo.detail(datasetId)).toMatchObject({
      sampleCount: 3,
      deletedCount: 2,
      splits: { train: 1, validation: 2, test: 0 },
      tags: [
        { tag: 'checked', count: 2 },
        { tag: 'geo', count: 1 },
        { tag: 'math', count: 2 }
      ].sort((a, b) => b.count - a.count || a.tag.localeCompare(b.tag))
    })
    expect(repo.bulk(datasetId, [ids[2]], { kind: 'restore' }, 'ana')).toBe(1)
    // A sample of another dataset rolls the whole action back.
    const other = repo.create({ name: 'other' })
    const [foreign] = repo.addSamples(other.id, [{ conversation: chat('a', 'b') }])
    expect(() => repo.bulk(datasetId, [ids[0], foreign], { kind: 'tag', tags: ['x'] }, 'ana')).toThrow(
      `datasets.bulk: dataset ${datasetId} has no sample with id ${foreign}`
    )
    expect(repo.getSample(ids[0])!.tags).not.toContain('x')
  })
})

describe('curation: statistics and duplicates', () => {
  it('counts roles, messages per sample, preference pairs and token lengths', () => {
    const { repo, datasetId, ids } = seeded()
    repo.saveTokenCounts(
      'default',
      ids.map((id, i) => ({
        sampleId: id,
        contentHash: repo.getSample(id)!.contentHash,
        tokens: [5, 7, 5, 20, 9][i]
      }))
    )
    const stats = repo.stats(datasetId, 'default', 3)
    expect(stats).toMatchObject({
      sampleCount: 5,
      splits: { train: 3, validation: 1, test: 1 },
      roles: [
        { role: 'assistant', messages: 5, samples: 5 },
        { role: 'user', messages: 5, samples: 5 },
        { role: 'system', messages: 1, samples: 1 }
      ],
      messageCounts: [
        { messages: 2, samples: 4 },
        { messages: 3, samples: 1 }
      ],
      preferenceCount: 1,
      tokens: { tokenizer: 'default', counted: 5, min: 5, max: 20, mean: 9.2, p50: 7, p95: 20 },
      tokenizers: [{ tokenizer: 'default', counted: 5 }]
    })
    expect(stats.tokens!.histogram).toEqual([
      { from: 5, to: 11, count: 4 },
      { from: 11, to: 17, count: 0 },
      { from: 17, to: 23, count: 1 }
    ])
  })

  it('groups exact duplicates, and keeps near-duplicate groups from the last search', () => {
    const { repo, datasetId, ids } = seeded()
    expect(repo.exactDuplicates(datasetId)).toMatchObject({
      groups: [
        {
          kind: 'exact',
          sampleIds: [ids[0], ids[2]],
          similarity: 1,
          prompt: 'What is the capital of France?'
        }
      ],
      sampleCount: 2
    })
    repo.saveNearDuplicates(datasetId, { threshold: 0.8, shingleWords: 3, numHashes: 128 }, [
      { sampleIds: [ids[1], ids[3]], similarity: 0.85 }
    ])
    expect(repo.nearDuplicates(datasetId)).toMatchObject({
      kind: 'near',
      threshold: 0.8,
      groups: [{ sampleIds: [ids[1], ids[3]], similarity: 0.85 }]
    })
    expect(repo.sampleIds(datasetId, { duplicate: 'near' })).toEqual([ids[1], ids[3]])
    // Deleting one member dissolves the group.
    repo.softDeleteSample(ids[3])
    expect(repo.nearDuplicates(datasetId).groups).toEqual([])
  })
})

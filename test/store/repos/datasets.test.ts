import { describe, expect, it } from 'vitest'
import { StoreConflictError, StoreNotFoundError } from '../../../src-main/store/errors'
import type { SampleQuery } from '../../../src-main/store/repos/sample-browse'
import { conversationHash, type Conversation, type NewSample } from '../../../src-main/store/repos/samples'
import { chat, openTempStore, seedRunInputs } from '../helpers'

function storeWithDataset(name = 'chat') {
  const store = openTempStore()
  const dataset = store.datasets.create({ name, description: 'hand-written' })
  return { store, repo: store.datasets, datasetId: dataset.id }
}

const THREE: NewSample[] = [
  { conversation: chat('1+1?', '2'), tags: ['math'], split: 'train', sourceFile: 'a.jsonl', sourceLine: 1 },
  { conversation: chat('capital of France?', 'Paris'), tags: ['geo'], split: 'validation' },
  { conversation: chat('2+2?', '4'), tags: ['math', 'easy'], split: 'test' }
]

describe('datasets repository: datasets', () => {
  it('creates, lists, gets, renames and describes datasets', () => {
    const { repo, datasetId } = storeWithDataset('chat')
    const created = repo.get(datasetId)!
    expect(created).toEqual({
      id: datasetId,
      name: 'chat',
      description: 'hand-written',
      createdAt: expect.stringMatching(/Z$/),
      sampleCount: 0,
      versionCount: 0,
      latestVersion: null
    })
    repo.create({ name: 'alpha' })
    expect(repo.list().map((d) => d.name)).toEqual(['alpha', 'chat'])
    expect(repo.rename(datasetId, 'zeta').name).toBe('zeta')
    expect(repo.setDescription(datasetId, 'new').description).toBe('new')
    expect(repo.get(9999)).toBeNull()
  })

  it('refuses a duplicate name with a message that names it', () => {
    const { repo } = storeWithDataset('chat')
    const other = repo.create({ name: 'other' })
    expect(() => repo.create({ name: 'Chat' })).toThrow(StoreConflictError)
    expect(() => repo.create({ name: 'chat' })).toThrow(
      'datasets.create: a dataset named "chat" already exists'
    )
    expect(() => repo.rename(other.id, 'chat')).toThrow(
      /datasets.rename: a dataset named "chat" already exists/
    )
  })

  it('reports the latest version and the version count in the summary', () => {
    const { repo, datasetId } = storeWithDataset()
    repo.addSamples(datasetId, THREE)
    repo.cutVersion(datasetId, 'v1')
    const second = repo.cutVersion(datasetId, 'v2')
    expect(repo.get(datasetId)!.versionCount).toBe(2)
    expect(repo.get(datasetId)!.latestVersion).toEqual({
      id: second.id,
      version: 2,
      contentHash: second.contentHash,
      sampleCount: 3
    })
  })

  it('deletes a dataset with its samples, and refuses while a run uses one of its versions', () => {
    const { store, repo, datasetId } = storeWithDataset()
    const [sampleId] = repo.addSamples(datasetId, THREE)
    expect(repo.delete(datasetId)).toBe(true)
    expect(repo.get(datasetId)).toBeNull()
    expect(repo.getSample(sampleId)).toBeNull()
    expect(repo.delete(datasetId)).toBe(false)

    const inputs = seedRunInputs(store)
    store.runs.create({ name: 'r', config: {}, ...inputs })
    const used = store.datasets.getVersion(inputs.datasetVersionId)!.datasetId
    expect(() => repo.delete(used)).toThrow(
      /datasets.delete: dataset \d+ has versions that runs were trained on/
    )
    expect(repo.get(used)).not.toBeNull()
  })
})

describe('datasets repository: samples', () => {
  it('adds samples in one transaction, with revision 1 and a content hash of the conversation', () => {
    const { repo, datasetId } = storeWithDataset()
    const ids = repo.addSamples(datasetId, THREE, { author: 'import', note: 'a.jsonl' })
    expect(ids).toHaveLength(3)
    const first = repo.getSample(ids[0])!
    expect(first).toMatchObject({
      datasetId,
      conversation: THREE[0].conversation,
      tags: ['math'],
      split: 'train',
      rating: null,
      sourceFile: 'a.jsonl',
      sourceLine: 1,
      revision: 1,
      deletedAt: null,
      contentHash: conversationHash(THREE[0].conversation)
    })
    expect(repo.revisions(ids[0])).toMatchObject([{ revision: 1, author: 'import', note: 'a.jsonl' }])
  })

  it('hashes conversations independently of key order', () => {
    const a: Conversation = { messages: [{ role: 'user', content: 'x', loss_weight: 0 }] }
    const b: Conversation = { messages: [{ loss_weight: 0, content: 'x', role: 'user' }] }
    expect(conversationHash(a)).toBe(conversationHash(b))
    expect(conversationHash(a)).not.toBe(conversationHash({ messages: [{ role: 'user', content: 'y' }] }))
  })

  it('adds nothing when one sample of a batch is invalid', () => {
    const { repo, datasetId } = storeWithDataset()
    const bad = { conversation: chat('x', 'y'), split: 'dev' } as unknown as NewSample
    expect(() => repo.addSamples(datasetId, [THREE[0], bad])).toThrow(/CHECK constraint failed/)
    expect(repo.querySamples(datasetId).total).toBe(0)
  })

  it('refuses samples for a dataset that does not exist', () => {
    const { repo } = storeWithDataset()
    expect(() => repo.addSamples(404, THREE)).toThrow(StoreNotFoundError)
  })

  it('lists samples by page, split and tag, in a whitelisted order', () => {
    const { repo, datasetId } = storeWithDataset()
    const ids = repo.addSamples(datasetId, THREE)
    const listed = (query: SampleQuery = {}) => repo.querySamples(datasetId, query).rows.map((s) => s.id)
    expect(listed()).toEqual(ids)
    expect(listed({ limit: 1, offset: 1 })).toEqual([ids[1]])
    expect(listed({ filter: { split: 'test' } })).toEqual([ids[2]])
    expect(listed({ filter: { tags: ['math'] } })).toEqual([ids[0], ids[2]])
    expect(repo.querySamples(datasetId, { filter: { tags: ['math'] } }).total).toBe(2)

    repo.updateSample(ids[1], { rating: 5 })
    repo.updateSample(ids[2], { rating: 3 })
    expect(listed({ sort: { column: 'rating', direction: 'desc' } })).toEqual([ids[1], ids[2], ids[0]])
    expect(() => listed({ sort: { column: 'id; DROP TABLE samples' as never, direction: 'asc' } })).toThrow(
      /cannot sort by "id; DROP TABLE samples"/
    )
  })

  it('normalises tags as a sorted set', () => {
    const { repo, datasetId } = storeWithDataset()
    const [id] = repo.addSamples(datasetId, [{ conversation: chat('a', 'b'), tags: [' b', 'a', 'b', ''] }])
    expect(repo.getSample(id)!.tags).toEqual(['a', 'b'])
  })
})

describe('datasets repository: revisions and undo', () => {
  it('writes each edit as the next revision, keeping the full history', () => {
    const { repo, datasetId } = storeWithDataset()
    const [id] = repo.addSamples(datasetId, [THREE[0]])
    const edited = repo.updateSample(
      id,
      { conversation: chat('1+1?', 'two') },
      { author: 'ada', note: 'words' }
    )
    expect(edited.revision).toBe(2)
    expect(edited.conversation).toEqual(chat('1+1?', 'two'))
    expect(edited.contentHash).toBe(conversationHash(chat('1+1?', 'two')))
    expect(edited.tags).toEqual(['math'])
    repo.updateSample(id, { split: 'validation', rating: 4 })

    const history = repo.revisions(id)
    expect(history.map((r) => r.revision)).toEqual([1, 2, 3])
    expect(history[0].conversation).toEqual(THREE[0].conversation)
    expect(history[1]).toMatchObject({ author: 'ada', note: 'words', split: 'train', rating: null })
    expect(history[2]).toMatchObject({ split: 'validation', rating: 4, conversation: chat('1+1?', 'two') })
  })

  it('writes no revision for an edit that changes nothing', () => {
    const { repo, datasetId } = storeWithDataset()
    const [id] = repo.addSamples(datasetId, [THREE[0]])
    expect(repo.updateSample(id, { tags: ['math'], split: 'train' }).revision).toBe(1)
    expect(repo.revisions(id)).toHaveLength(1)
  })

  it('undoes by writing a new revision equal to an old one', () => {
    const { repo, datasetId } = storeWithDataset()
    const [id] = repo.addSamples(datasetId, [THREE[0]])
    repo.updateSample(id, { conversation: chat('1+1?', 'eleven'), tags: ['wrong'], rating: 1 })
    const reverted = repo.revertSample(id, 1, { author: 'ada' })
    expect(reverted).toMatchObject({
      revision: 3,
      conversation: THREE[0].conversation,
      tags: ['math'],
      rating: null
    })
    expect(reverted.contentHash).toBe(conversationHash(THREE[0].conversation))
    expect(repo.revisions(id).map((r) => [r.revision, r.note])).toEqual([
      [1, ''],
      [2, ''],
      [3, 'revert to revision 1']
    ])
    expect(() => repo.revertSample(id, 9)).toThrow('datasets.revertSample: sample 1 has no revision 9')
  })

  it('soft-deletes and restores; a deleted sample cannot be edited', () => {
    const { repo, datasetId } = storeWithDataset()
    const [a, b] = repo.addSamples(datasetId, THREE)
    expect(repo.softDeleteSample(a).deletedAt).toMatch(/Z$/)
    expect(repo.sampleIds(datasetId)).not.toContain(a)
    expect(repo.sampleIds(datasetId, { deleted: 'include' })).toContain(a)
    expect(() => repo.updateSample(a, { rating: 1 })).toThrow(/sample \d+ is deleted; restore it first/)
    expect(repo.restoreSample(a).deletedAt).toBeNull()
    expect(repo.sampleIds(datasetId)).toEqual([a, b, b + 1])
    expect(() => repo.softDeleteSample(777)).toThrow(StoreNotFoundError)
  })
})

describe('datasets repository: versions', () => {
  it('freezes the live samples with their split, tags and revision', () => {
    const { repo, datasetId } = storeWithDataset()
    const ids = repo.addSamples(datasetId, THREE)
    repo.updateSample(ids[0], { tags: ['math', 'reviewed'] })
    const version = repo.cutVersion(datasetId, 'first cut')
    expect(version).toMatchObject({ datasetId, version: 1, sampleCount: 3, note: 'first cut' })
    expect(repo.getVersion(version.id)).toEqual(version)
    const frozen = repo.versionSamples(version.id)
    expect(frozen.map((s) => [s.position, s.sampleId, s.sampleRevision, s.split])).toEqual([
      [0, ids[0], 2, 'train'],
      [1, ids[1], 1, 'validation'],
      [2, ids[2], 1, 'test']
    ])
    expect(frozen[0].tags).toEqual(['math', 'reviewed'])
    expect(repo.versionSamples(version.id, { split: 'validation' }).map((s) => s.sampleId)).toEqual([ids[1]])
  })

  it('keeps a cut version unchanged by later edits, deletes and purges', () => {
    const { store, repo, datasetId } = storeWithDataset()
    const ids = repo.addSamples(datasetId, THREE)
    const v1 = repo.cutVersion(datasetId)
    const before = repo.versionSamples(v1.id)

    repo.updateSample(ids[0], { conversation: chat('1+1?', 'three'), split: 'test' })
    repo.softDeleteSample(ids[1])
    const v2 = repo.cutVersion(datasetId)

    expect(repo.versionSamples(v1.id).map(({ sampleId: _s, ...content }) => content)).toEqual(
      before.map(({ sampleId: _s, ...content }) => content)
    )
    expect(repo.getVersion(v1.id)).toEqual(v1)
    // The purged sample is gone, its frozen copy in v1 remains without a link.
    expect(repo.getSample(ids[1])).toBeNull()
    expect(repo.versionSamples(v1.id)[1]).toMatchObject({
      sampleId: null,
      conversation: THREE[1].conversation
    })
    expect(v2).toMatchObject({ version: 2, sampleCount: 2 })
    expect(repo.listVersions(datasetId).map((v) => v.version)).toEqual([2, 1])

    expect(() =>
      store.db.prepare('UPDATE dataset_versions SET sample_count = 0 WHERE id = ?').run(v1.id)
    ).toThrow(/immutable/)
  })

  it('gives equal content an equal hash and changed content a different one', () => {
    const { repo, datasetId } = storeWithDataset('one')
    const twin = repo.create({ name: 'two' }).id
    const ids = repo.addSamples(datasetId, THREE)
    repo.addSamples(twin, THREE)
    const v1 = repo.cutVersion(datasetId)
    expect(repo.cutVersion(twin).contentHash).toBe(v1.contentHash)
    expect(repo.cutVersion(datasetId).contentHash).toBe(v1.contentHash)

    repo.updateSample(ids[1], { split: 'train' })
    const changedSplit = repo.cutVersion(datasetId)
    expect(changedSplit.contentHash).not.toBe(v1.contentHash)
    repo.updateSample(ids[1], { split: 'validation', tags: ['geo', 'capital'] })
    expect(repo.cutVersion(datasetId).contentHash).not.toBe(v1.contentHash)
    repo.revertSample(ids[1], 1)
    expect(repo.cutVersion(datasetId).contentHash).toBe(v1.contentHash)
  })

  it('refuses to cut a version of a dataset that does not exist', () => {
    const { repo } = storeWithDataset()
    expect(() => repo.cutVersion(55)).toThrow('datasets.cutVersion: no dataset with id 55')
  })
})

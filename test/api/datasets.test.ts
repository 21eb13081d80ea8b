import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiContext } from '../../src-main/api/context'
import { invoke } from '../../src-main/api/dispatch'
import type { RequestContext } from '../../src-main/api/handlers'
import type { Conversation } from '../../src-preload/contract'
import { LARGE_EDIT_SAMPLES } from '../../src-main/datasets/work'
import { tempDir } from '../helpers/temp'

const chat = (user: string, assistant: string): Conversation => ({
  messages: [
    { role: 'user', content: user },
    { role: 'assistant', content: assistant }
  ]
})

const STORY =
  'Once upon a time a little fox lived in a quiet forest near a river and every morning it went to the water ' +
  'to drink and to watch the fish jump in the sunlight while the birds sang in the tall trees above'

describe('datasets.* API (jobs in workers)', () => {
  const dir = tempDir()
  let api: ReturnType<typeof createApiContext>
  let ctx: RequestContext
  let datasetId: number

  beforeAll(async () => {
    api = createApiContext(join(dir.dir, 'store'))
    ctx = { ...api, transport: 'direct' }
    const file = join(dir.dir, 'stories.jsonl')
    const rows = [
      chat('Tell me a story.', STORY),
      chat('Tell me a story, please.', STORY.replace('little fox', 'small fox')),
      chat('What is 2+2?', '4'),
      chat('What is 2+2?', '4'),
      {
        messages: [
          { role: 'user', content: 'Quiet please.' },
          { role: 'assistant', content: 'ok', loss_weight: 0 }
        ]
      }
    ]
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n'))
    const result = await invoke(
      'datasets.import',
      { path: file, datasetName: 'stories', tags: ['demo'] },
      ctx
    )
    expect(result).toMatchObject({ imported: 5, fileType: 'jsonl', mapping: { format: 'messages' } })
    datasetId = result.dataset.id
  })
  afterAll(async () => {
    await api.dispose()
    dir.cleanup()
  })

  it('pages samples with a search, and edits, undoes and tags through the calls', async () => {
    const page = await invoke('datasets.samples', { id: datasetId, filter: { search: 'fox' } }, ctx)
    expect(page.total).toBe(2)
    const sampleId = page.rows[0].id
    const sample = await invoke('datasets.sample', { sampleId }, ctx)
    const edited = structuredClone(sample.conversation)
    edited.messages.push({ role: 'user', content: 'And then?' }, { role: 'assistant', content: 'The end.' })
    const updated = await invoke(
      'datasets.updateSample',
      { sampleId, conversation: edited, author: 'ana' },
      ctx
    )
    expect(updated).toMatchObject({ revision: 2, messageCount: 4, edited: true })
    // The search index follows the edit.
    expect(
      (await invoke('datasets.samples', { id: datasetId, filter: { search: '"the end"' } }, ctx)).total
    ).toBe(1)
    const undone = await invoke('datasets.undoSample', { sampleId, author: 'ana' }, ctx)
    expect(undone.conversation).toEqual(sample.conversation)
    expect((await invoke('datasets.sampleHistory', { sampleId }, ctx)).map((h) => h.author)).toEqual([
      'import',
      'ana',
      'ana'
    ])
    const bulk = await invoke(
      'datasets.bulk',
      { id: datasetId, sampleIds: [sampleId], action: { kind: 'tag', tags: ['fox'] } },
      ctx
    )
    expect(bulk).toEqual({ changed: 1 })
    expect((await invoke('datasets.get', { id: datasetId }, ctx)).tags).toEqual([
      { tag: 'demo', count: 5 },
      { tag: 'fox', count: 1 }
    ])
  })

  it('refuses an edit that leaves nothing to train on, and a bad regex, as invalid input', async () => {
    const [first] = (await invoke('datasets.samples', { id: datasetId, limit: 1 }, ctx)).rows
    await expect(
      invoke(
        'datasets.updateSample',
        { sampleId: first.id, conversation: { messages: [{ role: 'user', content: 'x' }] } },
        ctx
      )
    ).rejects.toMatchObject({
      code: 'invalid_input',
      message: 'datasets.updateSample: no assistant turn to train on'
    })
    await expect(
      invoke('datasets.samples', { id: datasetId, filter: { regex: '(' } }, ctx)
    ).rejects.toMatchObject({
      code: 'invalid_input',
      message: 'datasets.samples: filter.regex: invalid regular expression: missing ): ('
    })
    await expect(invoke('datasets.sample', { sampleId: 9999 }, ctx)).rejects.toMatchObject({
      code: 'not_found'
    })
  })

  it('runs a regex filter in linear time: (a+)+$ answers, lookahead is refused in words', async () => {
    const { id } = await invoke('datasets.create', { name: 'regex' }, ctx)
    const long = await invoke(
      'datasets.addSample',
      { id, conversation: chat('Spell it.', `${'a'.repeat(50_000)}b`) },
      ctx
    )
    const fruit = await invoke('datasets.addSample', { id, conversation: chat('A fruit?', 'BANANA') }, ctx)
    const page = await invoke('datasets.samples', { id, filter: { regex: '(a+)+$', regexFlags: 'i' } }, ctx)
    expect(page.rows.map((row) => row.id)).toEqual([fruit.id])
    expect(page.rows.map((row) => row.id)).not.toContain(long.id)
    await expect(
      invoke('datasets.sampleIds', { id, filter: { regex: 'fruit(?=\\?)' } }, ctx)
    ).rejects.toMatchObject({
      code: 'invalid_input',
      message:
        'datasets.sampleIds: filter.regex: (?=…) lookahead is not supported (patterns run in linear time)'
    })
  })

  it('finds exact and near-duplicate groups (near in a job) and filters by them', async () => {
    const exact = await invoke('datasets.duplicates', { id: datasetId, kind: 'exact' }, ctx)
    expect(exact.groups.map((g) => g.prompt)).toEqual(['What is 2+2?'])
    const near = await invoke('datasets.findNearDuplicates', { id: datasetId, threshold: 0.6 }, ctx)
    expect(near.jobId).toMatch(/./)
    expect(near.groups.map((g) => g.prompt)).toEqual(['Tell me a story.', 'What is 2+2?'])
    const flagged = await invoke('datasets.sampleIds', { id: datasetId, filter: { duplicate: 'near' } }, ctx)
    expect(flagged).toHaveLength(4)
  })

  it('counts tokens, reports them in stats and filters by them', async () => {
    const counted = await invoke('datasets.countTokens', { id: datasetId }, ctx)
    expect(counted).toMatchObject({ tokenizer: 'default', label: 'stories260K (default)', counted: 5 })
    const stats = await invoke('datasets.stats', { id: datasetId, tokenizer: 'default', bins: 4 }, ctx)
    expect(stats.tokens).toMatchObject({ counted: 5 })
    expect(stats.tokens!.histogram.reduce((n, b) => n + b.count, 0)).toBe(5)
    expect(stats.tokenizers).toEqual([{ tokenizer: 'default', label: 'stories260K (default)', counted: 5 }])
    const long = await invoke(
      'datasets.sampleIds',
      { id: datasetId, filter: { tokenizer: 'default', minTokens: 30 } },
      ctx
    )
    expect(long).toHaveLength(2)
  })

  it('previews the template with trained spans, and pre-flight lists problem samples', async () => {
    const preview = await invoke('datasets.templatePreview', { conversation: chat('Hi', 'Hello') }, ctx)
    expect(preview).toMatchObject({ template: 'fallback', model: 'stories260K (default)' })
    expect(preview.text.slice(preview.spans[0].start, preview.spans[0].end)).toBe(' Hello</s>')
    expect(preview.trainedTokenCount).toBeGreaterThan(0)
    const report = await invoke('datasets.preflight', { id: datasetId, maxLength: 32 }, ctx)
    expect(report).toMatchObject({
      checked: 5,
      counts: { too_long: 2, no_trainable_tokens: 1, empty: 0, template_error: 0 }
    })
    expect(report.problems.map((p) => p.kind).sort()).toEqual(['no_trainable_tokens', 'too_long', 'too_long'])
  })

  it("pre-flight checks against the model's context unless told a shorter length, and names both", async () => {
    // stories260K has 512 positions: 2048 would pass samples that no run of it can train on.
    const report = await invoke('datasets.preflight', { id: datasetId }, ctx)
    expect(report).toMatchObject({ maxLength: 512, contextLength: 512, model: 'stories260K (default)' })
    await expect(invoke('datasets.preflight', { id: datasetId, maxLength: 2048 }, ctx)).rejects.toMatchObject(
      {
        code: 'invalid_input',
        message:
          'datasets.preflight: stories260K (default) trains on at most 512 tokens (its context), not 2048'
      }
    )
  })

  it('splits with a seed, cuts a version and exports it in a job', async () => {
    const split = await invoke(
      'datasets.assignSplits',
      { id: datasetId, seed: 4, ratios: { train: 0.6, validation: 0.2, test: 0.2 } },
      ctx
    )
    expect(split.counts).toEqual({ train: 3, validation: 1, test: 1 })
    const version = await invoke('datasets.cutVersion', { id: datasetId, note: 'v1' }, ctx)
    const rows = await invoke('datasets.versionSamples', { versionId: version.id, split: 'validation' }, ctx)
    expect(rows.total).toBe(1)
    const path = join(dir.dir, 'export.jsonl')
    const exported = await invoke('datasets.export', { versionId: version.id, format: 'sharegpt', path }, ctx)
    expect(exported).toMatchObject({ written: 5, skipped: [], path })
    const lines = readFileSync(path, 'utf8').trim().split('\n')
    expect(JSON.parse(lines[0]).conversations[0]).toEqual({ from: 'human', value: 'Tell me a story.' })
  })
  it('edits a large selection in a job worker: a bulk tag and seeded splits', async () => {
    const file = join(dir.dir, 'many.jsonl')
    const rows = Array.from({ length: LARGE_EDIT_SAMPLES }, (_, i) =>
      JSON.stringify(chat(`question ${i}`, 'answer'))
    )
    writeFileSync(file, rows.join('\n'))
    const { dataset } = await invoke('datasets.import', { path: file, datasetName: 'many' }, ctx)
    const ids = await invoke('datasets.sampleIds', { id: dataset.id }, ctx)
    const tagged = await invoke(
      'datasets.bulk',
      { id: dataset.id, sampleIds: ids, action: { kind: 'tag', tags: ['many'] } },
      ctx
    )
    expect(tagged.changed).toBe(LARGE_EDIT_SAMPLES)
    const split = await invoke(
      'datasets.assignSplits',
      { id: dataset.id, seed: 1, ratios: { train: 0.5, validation: 0.25, test: 0.25 } },
      ctx
    )
    expect(split.counts).toEqual({ train: 1000, validation: 500, test: 500 })
    expect(api.jobs.list().map((job) => job.kind)).toEqual(
      expect.arrayContaining(['dataset.bulk', 'dataset.assign-splits'])
    )
    const page = await invoke(
      'datasets.samples',
      { id: dataset.id, filter: { tags: ['many'], split: 'test' } },
      ctx
    )
    expect(page.total).toBe(500)
  })
})

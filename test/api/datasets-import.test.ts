import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createApiContext } from '../../src-main/api/context'
import { invoke } from '../../src-main/api/dispatch'
import type { RequestContext } from '../../src-main/api/handlers'
import { STORY_REQUESTS, tempDir } from '../helpers/temp'
import { liveSamples } from '../store/helpers'

const good = (text: string) =>
  JSON.stringify({
    messages: [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: text }
    ]
  })

describe('datasets.import (messages JSONL)', () => {
  let dir: ReturnType<typeof tempDir>
  let api: ReturnType<typeof createApiContext>
  let ctx: RequestContext
  beforeEach(() => {
    dir = tempDir()
    api = createApiContext(join(dir.dir, 'store'))
    ctx = { ...api, transport: 'direct' }
  })
  afterEach(async () => {
    await api.dispose()
    dir.cleanup()
  })

  function brokenFile(): string {
    const file = join(dir.dir, 'broken.jsonl')
    const lines = [
      good('one'),
      '{"messages": "nope"}',
      '',
      good('two'),
      '{not json',
      JSON.stringify({ messages: [{ role: 'user', content: 'only a question' }] })
    ]
    writeFileSync(file, lines.join('\n') + '\n')
    return file
  }

  it('imports a real file and cuts a version with a content hash', async () => {
    const result = await invoke(
      'datasets.import',
      { path: STORY_REQUESTS, datasetName: 'stories', cutVersion: true },
      ctx
    )
    expect(result).toMatchObject({ imported: 320, badRows: [], version: { version: 1, sampleCount: 320 } })
    expect(result.version!.contentHash).toMatch(/^[0-9a-f]{64}$/)
    const samples = liveSamples(ctx.store, result.dataset.id, { limit: 1 })
    expect(samples[0]).toMatchObject({ split: 'train', sourceFile: STORY_REQUESTS, sourceLine: 1 })
  })

  it('aborts on bad lines by default, naming file, line and reason, and leaves nothing behind', async () => {
    const file = brokenFile()
    await expect(invoke('datasets.import', { path: file, datasetName: 'broken' }, ctx)).rejects.toThrow(
      /^datasets\.import: line 2 of broken\.jsonl: "messages" must be a list of messages, got "nope" \(and 2 more bad lines\); nothing was imported$/
    )
    expect(ctx.store.datasets.list()).toEqual([])
  })

  it('skips bad lines when asked, and reports each with its line number', async () => {
    const result = await invoke(
      'datasets.import',
      { path: brokenFile(), datasetName: 'broken', onBadRows: 'skip' },
      ctx
    )
    expect(result.imported).toBe(2)
    expect(result.badRows.map((r) => r.line)).toEqual([2, 5, 6])
    expect(result.badRows[1].reason).toMatch(/not valid JSON/)
    expect(result.badRows[2].reason).toBe('no assistant turn to train on')
  })

  it('refuses ambiguous targets and missing files with clear errors', async () => {
    await expect(invoke('datasets.import', { path: STORY_REQUESTS }, ctx)).rejects.toThrow(
      /exactly one of datasetId and datasetName/
    )
    await expect(
      invoke('datasets.import', { path: join(dir.dir, 'nope.jsonl'), datasetName: 'x' }, ctx)
    ).rejects.toThrow(/nope\.jsonl is not a file/)
  })
})

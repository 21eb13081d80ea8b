import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiContext } from '../../src-main/api/context'
import { invoke } from '../../src-main/api/dispatch'
import type { RequestContext } from '../../src-main/api/handlers'
import { addCachedModel, revisionOf } from '../helpers/fake-hf-cache'
import { tempDir } from '../helpers/temp'

const TEMPLATE = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"

describe('models.discover, models.detail and models.remove', () => {
  const dir = tempDir()
  const hub = join(dir.dir, 'hub')
  const watched = join(dir.dir, 'watched')
  const [snapshot] = addCachedModel(hub, 'acme/tiny', ['v1'])
  const [folderModel] = addCachedModel(watched, 'other/model', ['w1'])
  let api: ReturnType<typeof createApiContext>
  let ctx: RequestContext
  const savedHubCache = process.env.HF_HUB_CACHE

  beforeAll(() => {
    process.env.HF_HUB_CACHE = hub
    api = createApiContext(join(dir.dir, 'store'))
    ctx = { ...api, transport: 'direct' }
  })
  afterAll(async () => {
    if (savedHubCache === undefined) delete process.env.HF_HUB_CACHE
    else process.env.HF_HUB_CACHE = savedHubCache
    await api.dispose()
    dir.cleanup()
  })

  it('discovers the cache in a job, and a watched folder once it is added', async () => {
    const first = await invoke('models.discover', {}, ctx)
    expect(first.models.map((m) => m.path)).toEqual([snapshot])
    expect(ctx.jobs.list()).toContainEqual(
      expect.objectContaining({ kind: 'model.discover', status: 'completed' })
    )

    expect(await invoke('models.addFolder', { path: watched }, ctx)).toEqual([watched])
    expect(await invoke('models.addFolder', { path: watched }, ctx)).toEqual([watched])
    await expect(invoke('models.addFolder', { path: join(dir.dir, 'nowhere') }, ctx)).rejects.toMatchObject({
      code: 'invalid_input',
      message: `models.addFolder: ${join(dir.dir, 'nowhere')} is not a folder`
    })
    const second = await invoke('models.discover', {}, ctx)
    // The watched folder's snapshot is three levels below it: too deep, as a watched folder is scanned.
    expect(second.models.map((m) => m.path)).toEqual([snapshot])
    expect(second.roots.map((r) => r.path)).toEqual([hub, watched])
    await invoke('models.removeFolder', { path: watched }, ctx)
    expect(await invoke('models.folders', {}, ctx)).toEqual([])
    await expect(invoke('models.removeFolder', { path: watched }, ctx)).rejects.toMatchObject({
      code: 'not_found'
    })
    await invoke('models.addFolder', { path: join(folderModel, '..') }, ctx)
    const third = await invoke('models.discover', {}, ctx)
    expect(third.models.map((m) => m.name)).toEqual([
      `acme/tiny@${revisionOf('v1').slice(0, 7)}`,
      `other/model@${revisionOf('w1').slice(0, 7)}`
    ])
  })

  it('registers a discovered model under its name, and says so in the next discovery', async () => {
    const [found] = (await invoke('models.discover', {}, ctx)).models
    // No name given: an HF snapshot is named as discovery names it, not by its commit.
    const job = await ctx.jobs.wait((await invoke('models.register', { path: found.path }, ctx)).jobId)
    expect(job.status).toBe('completed')
    const [model] = await invoke('models.list', {}, ctx)
    expect(model).toMatchObject({ name: found.name, path: snapshot, parameterCount: 260_032 })
    const again = await invoke('models.discover', {}, ctx)
    expect(again.models.find((m) => m.path === snapshot)?.registeredModelId).toBe(model.id)
  })

  it("shows a model's page: source, size, tokenizer, chat template, runs", async () => {
    const [model] = await invoke('models.list', {}, ctx)
    const without = await invoke('models.detail', { id: model.id }, ctx)
    expect(without).toMatchObject({
      listed: true,
      source: { kind: 'hf-cache', repoId: 'acme/tiny', revision: revisionOf('v1'), current: true },
      tokenizerKind: 'BPE',
      chatTemplate: null,
      runs: [],
      evaluations: [],
      model: { id: model.id, contextLength: 512 },
      validation: { ok: true, dtype: 'F32', chatTemplate: 'fallback' }
    })
    expect(without.sizeBytes).toBe(1_045_368 + 526 + 10_614 + 268)

    // The snapshot's tokenizer_config.json is a link into blobs/: replace it with a file of its own.
    const configPath = join(snapshot, 'tokenizer_config.json')
    rmSync(configPath)
    writeFileSync(
      configPath,
      JSON.stringify({ bos_token: '<s>', eos_token: '</s>', chat_template: TEMPLATE })
    )
    expect((await invoke('models.detail', { id: model.id }, ctx)).chatTemplate).toBe(TEMPLATE)
    await expect(invoke('models.detail', { id: 999 }, ctx)).rejects.toMatchObject({ code: 'not_found' })
  })

  it('refuses to remove a model a queued run uses; afterwards the run keeps it and the files stay', async () => {
    const [model] = await invoke('models.list', {}, ctx)
    const recipe = ctx.store.recipes.upsert({ name: 'sft', version: 1, description: '', paramsSchema: {} })
    const run = ctx.store.runs.create({
      name: 'queued one',
      config: {},
      recipeId: recipe.id,
      baseModelId: model.id,
      datasetVersionId: null
    })
    await expect(invoke('models.remove', { id: model.id }, ctx)).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining(`is used by run ${run.id} "queued one" (queued)`)
    })
    ctx.store.runs.setStatus(run.id, 'cancelled')
    expect(await invoke('models.remove', { id: model.id }, ctx)).toEqual({ id: model.id })
    expect(await invoke('models.list', {}, ctx)).toEqual([])
    await expect(invoke('models.remove', { id: model.id }, ctx)).rejects.toMatchObject({ code: 'not_found' })

    const detail = await invoke('models.detail', { id: model.id }, ctx)
    expect(detail.listed).toBe(false)
    expect(detail.runs).toEqual([
      expect.objectContaining({ id: run.id, name: 'queued one', status: 'cancelled' })
    ])
    expect(detail.validation.ok).toBe(true) // the files are where they were
    const found = await invoke('models.discover', {}, ctx)
    expect(found.models.find((m) => m.path === snapshot)?.registeredModelId).toBeNull()
  })
})

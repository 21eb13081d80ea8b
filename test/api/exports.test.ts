import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { openSafetensors } from '../../src-main/engine/checkpoint/safetensors'
import { encodePrompt, Generator } from '../../src-main/engine/infer/generation'
import type { WeightsSource } from '../../src-main/engine/models/weights'
import { checkpointWeightsSource } from '../../src-main/engine/train/checkpoint-weights'
import { loadTokenizer } from '../../src-main/engine/tokenizer/tokenizer'
import { defaultModelDir } from '../../src-main/resources'
import { graphCacheDir } from '../../src-main/store/location'
import type { ExportRecord, RunCheckpoint } from '../../src-preload/contract'
import { quickRun, useTrainingStore, type TestApi } from './run-fixtures'

const GREEDY_TOKENS = 32

/** Greedy token ids after "Once upon a time" with these weights, from our engine. */
async function greedyIds(api: TestApi, source: WeightsSource): Promise<number[]> {
  const tokenizer = loadTokenizer(source.modelDir)
  const generator = await Generator.open(source, { cacheDir: graphCacheDir(api.store.dir) })
  try {
    const prompt = encodePrompt(tokenizer, generator.model.config, 'Once upon a time')
    const result = await generator.generate(prompt, tokenizer, {
      maxNewTokens: GREEDY_TOKENS,
      temperature: 0
    })
    return result.tokenIds
  } finally {
    await generator.release()
  }
}

/** Starts an export and waits for its job; the finished record. */
async function exportAndWait(api: TestApi, input: object): Promise<ExportRecord> {
  const started = await api.call('exports.start', input)
  expect(started.export.status).toBe('running')
  const job = await api.jobs.wait(started.jobId)
  expect(job.error).toBeNull()
  expect(job.status).toBe('completed')
  return api.store.exports.get(started.export.id)!
}

describe('exports', () => {
  const fixture = useTrainingStore()
  let runId = 0
  let checkpoint: RunCheckpoint
  let adapterIds: number[] = []

  beforeAll(async () => {
    const run = await fixture.api.call(
      'runs.start',
      quickRun(fixture.inputs, { maxSteps: 20, saveEvery: 10 })
    )
    expect((await fixture.api.runs.waitForRun(run.id)).status).toBe('completed')
    runId = run.id
    checkpoint = (await fixture.api.call('runs.get', { id: run.id })).checkpoints.at(-1)!
    adapterIds = await greedyIds(fixture.api, checkpointWeightsSource(checkpoint.path, defaultModelDir()))
  }, 120_000)

  it.each(['float32', 'float16', 'bfloat16'] as const)(
    "writes a checkpoint merged as an HF folder in %s that our engine reloads to the adapter path's greedy tokens",
    async (dtype) => {
      const record = await exportAndWait(fixture.api, { checkpointId: checkpoint.id, format: 'hf', dtype })
      expect(record).toMatchObject({
        sourceKind: 'checkpoint',
        runId,
        checkpointId: checkpoint.id,
        step: 20,
        baseModelId: fixture.inputs.baseModelId,
        format: 'hf',
        variant: dtype,
        inStore: true,
        status: 'completed'
      })
      expect(record.path.startsWith(join(fixture.storeDir, 'exports', String(record.id)))).toBe(true)
      const files = readdirSync(record.path).sort()
      expect(files).toEqual(
        [
          'config.json',
          'generation_config.json',
          'model.safetensors',
          'tokenizer.json',
          'tokenizer_config.json'
        ].sort()
      )
      const config = JSON.parse(readFileSync(join(record.path, 'config.json'), 'utf8'))
      expect(config.torch_dtype).toBe(dtype)
      const weights = openSafetensors(join(record.path, 'model.safetensors'))
      const stored = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' }[dtype]
      expect(new Set(weights.names().map((name) => weights.info(name).dtype))).toEqual(new Set([stored]))
      weights.close()
      expect(record.bytes).toBeGreaterThan(0)
      expect(await greedyIds(fixture.api, { modelDir: record.path, adapterDir: null })).toEqual(adapterIds)
    },
    120_000
  )

  it("copies a run's adapter as a PEFT folder, and refuses a PEFT export of a base model", async () => {
    const record = await exportAndWait(fixture.api, { runId, format: 'peft' })
    expect(record).toMatchObject({ sourceKind: 'run', runId, checkpointId: null, step: null })
    expect(readdirSync(record.path).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors'])
    const outDir = (await fixture.api.call('runs.get', { id: runId })).outDir!
    expect(readFileSync(join(record.path, 'adapter_model.safetensors'))).toEqual(
      readFileSync(join(outDir, 'adapter_model.safetensors'))
    )
    await expect(
      fixture.api.call('exports.start', { baseModelId: fixture.inputs.baseModelId, format: 'peft' })
    ).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringContaining('not a LoRA adapter') })
  })

  it('writes to a path the user names, refusing the store, a non-empty folder and a GGUF path without .gguf', async () => {
    const out = join(fixture.folder, 'mine')
    const record = await exportAndWait(fixture.api, {
      baseModelId: fixture.inputs.baseModelId,
      format: 'hf',
      dtype: 'float32',
      path: out
    })
    expect(record).toMatchObject({ sourceKind: 'model', inStore: false, path: out })
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true)
    const base = { baseModelId: fixture.inputs.baseModelId, format: 'hf' }
    await expect(fixture.api.call('exports.start', { ...base, path: out })).rejects.toMatchObject({
      code: 'conflict'
    })
    await expect(
      fixture.api.call('exports.start', { ...base, path: join(fixture.storeDir, 'exports', 'x') })
    ).rejects.toMatchObject({ message: expect.stringContaining('inside the store folder') })
    await expect(
      fixture.api.call('exports.start', { ...base, format: 'gguf', path: join(fixture.folder, 'm.bin') })
    ).rejects.toMatchObject({ message: expect.stringContaining('.gguf file') })
    // Deleting a user-path export forgets it and leaves its files.
    expect(await fixture.api.call('exports.delete', { id: record.id })).toEqual({
      deleted: true,
      filesRemoved: false
    })
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true)
  })

  it('writes a checkpoint as a GGUF file in the store', async () => {
    const record = await exportAndWait(fixture.api, {
      checkpointId: checkpoint.id,
      format: 'gguf',
      ggufType: 'Q8_0'
    })
    expect(record).toMatchObject({ format: 'gguf', variant: 'Q8_0', step: 20 })
    expect(record.path.endsWith('.gguf')).toBe(true)
    expect(readFileSync(record.path).subarray(0, 4).toString('latin1')).toBe('GGUF')
    expect(record.bytes).toBe(readFileSync(record.path).length)
    // The Ollama Modelfile beside it names the file; stories260K has no chat template: plain prompts.
    const modelfile = readFileSync(record.path.replace(/\.gguf$/, '.Modelfile'), 'utf8')
    expect(modelfile.split('\n')[0]).toBe(`FROM ./${basename(record.path)}`)
    expect(modelfile).toContain('TEMPLATE """{{ .Prompt }}"""')
  }, 120_000)

  it('saves a copy of an export where the user says: a file as it is, a folder as a .tar', async () => {
    const [gguf] = await fixture.api.call('exports.list', { checkpointId: checkpoint.id })
    expect(gguf.format).toBe('gguf')
    const copy = join(fixture.folder, 'copy.gguf')
    expect(await fixture.api.call('exports.saveCopy', { id: gguf.id, path: copy })).toEqual({
      path: copy,
      bytes: gguf.bytes
    })
    expect(readFileSync(copy)).toEqual(readFileSync(gguf.path))

    const peft = (await fixture.api.call('exports.list', { runId })).find((e) => e.format === 'peft')!
    const tar = join(fixture.folder, 'adapter.tar')
    await fixture.api.call('exports.saveCopy', { id: peft.id, path: tar })
    const unpacked = join(fixture.folder, 'unpacked')
    mkdirSync(unpacked)
    execFileSync('tar', ['-xf', tar, '-C', unpacked])
    const folder = join(unpacked, basename(peft.path))
    expect(readdirSync(folder).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors'])
    expect(readFileSync(join(folder, 'adapter_model.safetensors'))).toEqual(
      readFileSync(join(peft.path, 'adapter_model.safetensors'))
    )

    await expect(
      fixture.api.call('exports.saveCopy', { id: peft.id, path: join(fixture.folder, 'adapter.zip') })
    ).rejects.toMatchObject({ message: expect.stringContaining('saved as a .tar file') })
    await expect(fixture.api.call('exports.saveCopy', { id: gguf.id, path: copy })).rejects.toMatchObject({
      code: 'conflict'
    })
    await expect(
      fixture.api.call('exports.saveCopy', { id: gguf.id, path: join(fixture.storeDir, 'x.gguf') })
    ).rejects.toMatchObject({ message: expect.stringContaining('inside the store folder') })
  })

  it('marks a cancelled export cancelled and leaves nothing of it in the store', async () => {
    const started = await fixture.api.call('exports.start', { checkpointId: checkpoint.id, format: 'hf' })
    await fixture.api.call('jobs.cancel', { id: started.jobId })
    expect((await fixture.api.jobs.wait(started.jobId)).status).toBe('cancelled')
    await expect.poll(() => fixture.api.store.exports.get(started.export.id)?.status).toBe('cancelled')
    expect(existsSync(join(fixture.storeDir, 'exports', String(started.export.id)))).toBe(false)
    await fixture.api.call('exports.delete', { id: started.export.id })
  })

  it('lists exports by run and checkpoint as lineage, and deletes a store export with its folder', async () => {
    const ofCheckpoint = await fixture.api.call('exports.list', { checkpointId: checkpoint.id })
    expect(ofCheckpoint.map((e) => e.variant)).toEqual(['Q8_0', 'bfloat16', 'float16', 'float32'])
    const ofRun = await fixture.api.call('exports.list', { runId })
    expect(ofRun.map((e) => e.format)).toEqual(['gguf', 'peft', 'hf', 'hf', 'hf'])
    const [newest] = ofRun
    expect(await fixture.api.call('exports.delete', { id: newest.id })).toEqual({
      deleted: true,
      filesRemoved: true
    })
    expect(existsSync(join(fixture.storeDir, 'exports', String(newest.id)))).toBe(false)
    await expect(fixture.api.call('exports.delete', { id: newest.id })).rejects.toMatchObject({
      code: 'not_found'
    })
  })

  it('writes a dataset export into the store when no path is given, recorded with its version', async () => {
    const result = await fixture.api.call('datasets.export', {
      versionId: fixture.inputs.datasetVersionId,
      format: 'sharegpt'
    })
    expect(result.exportId).not.toBeNull()
    expect(result.written).toBe(20)
    const record = fixture.api.store.exports.get(result.exportId!)!
    expect(record).toMatchObject({
      sourceKind: 'dataset',
      datasetVersionId: fixture.inputs.datasetVersionId,
      sourceLabel: 'dragons v1',
      format: 'jsonl',
      variant: 'sharegpt',
      status: 'completed',
      path: result.path
    })
    expect(result.path.startsWith(join(fixture.storeDir, 'exports', String(record.id)))).toBe(true)
    expect(readFileSync(result.path, 'utf8').trim().split('\n')).toHaveLength(20)
    expect(record.bytes).toBe(readFileSync(result.path).length)
  })
})
